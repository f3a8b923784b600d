"""AWX / Automation Platform: the configuration as code (extensions/awx/configure.yml), its surveys, and the
execution environment, tested without an AWX server.

- configure.yml passes `ansible-playbook --syntax-check` and ansible-lint's production profile;
- every survey spec passes AWX's own validation (the rules of awx/api/views JobTemplateSurveySpec and
  awx/main/models/mixins SurveyJobTemplateMixin, ported below), its defaults included, and asks only for
  rdsca_* variables that the playbooks read;
- what a survey sends (strings for multiple choice, integers, comma-separated regions) becomes the typed
  settings the playbooks use;
- the workflow runs staging, then an approval node, then production;
- `ansible-builder create`, run on the collection installed from its built tarball, makes a build context that
  holds the collection and its requirements, and
  ansible-builder's introspection of the built collection finds them through meta/execution-environment.yml.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
from typing import Any

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AWX = os.path.join(REPO, "extensions", "awx")
CONFIGURE = os.path.join(AWX, "configure.yml")
SURVEYS = sorted(glob.glob(os.path.join(AWX, "surveys", "*.json")))
BIN = os.path.dirname(sys.executable)
COLLECTIONS_PATH = os.path.join(REPO, ".build", "collections")


def _env() -> dict[str, str]:
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1",
                ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")


def _ensure_collection_link() -> None:
    link = os.path.join(COLLECTIONS_PATH, "ansible_collections", "rdsca", "rotation")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.relpath(REPO, os.path.dirname(link)), link)


# -- AWX's survey validation, ported (AWX 24: awx/api/views/__init__.py JobTemplateSurveySpec._validate_spec_data
#    and awx/main/models/mixins.py SurveyJobTemplateMixin._survey_element_validation) --------------------------

ALLOWED_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
                 "integer": int, "float": (float, int)}


def awx_validate_spec(new_spec: Any) -> list[str]:
    """The errors AWX's survey_spec POST answers with HTTP 400 (first error per question, as AWX stops)."""
    errors = []
    if not isinstance(new_spec, dict):
        return ["survey spec must be a JSON object"]
    for field, expect_type, type_label in (("name", str, "string"), ("description", str, "string"),
                                           ("spec", list, "list of items")):
        if field not in new_spec:
            errors.append("Field '%s' is missing from survey spec." % field)
        elif not isinstance(new_spec[field], expect_type):
            received = type(new_spec[field]).__name__
            errors.append("Expected %s for field '%s', received %s type." % (type_label, field, received))
    if isinstance(new_spec.get("spec"), list) and len(new_spec["spec"]) < 1:
        errors.append("'spec' doesn't contain any items.")
    if errors:
        return errors
    variables = set()
    for idx, item in enumerate(new_spec["spec"]):
        if not isinstance(item, dict):
            errors.append("Survey question %s is not a json object." % idx)
            continue
        problem = None
        for field_name in ("type", "question_name", "variable", "required"):
            if field_name not in item:
                problem = "'%s' missing from survey question %s" % (field_name, idx)
                break
            allowed = bool if field_name == "required" else str
            if not isinstance(item[field_name], allowed) or (allowed is str and isinstance(item[field_name], bool)):
                problem = "'%s' in survey question %s expected to be %s." % (
                    field_name, idx, "boolean" if allowed is bool else "string")
                break
        if problem:
            errors.append(problem)
            continue
        if item["variable"] in variables:
            errors.append("'variable' '%s' duplicated in survey question %s." % (item["variable"], idx))
            continue
        variables.add(item["variable"])
        qtype = item["type"]
        if qtype not in ALLOWED_TYPES:
            errors.append("'%s' in survey question %s is not one of '%s' allowed question types." % (
                qtype, idx, ", ".join(ALLOWED_TYPES)))
            continue
        if "default" in item and item["default"] != "":
            default = item["default"]
            if not isinstance(default, ALLOWED_TYPES[qtype]) or isinstance(default, bool):
                errors.append("Default value %s in survey question %s expected to be %s." % (
                    default, idx, qtype if qtype in ("integer", "float") else "string"))
                continue
        for key in ("min", "max"):
            if key in item and item[key] is not None and not isinstance(item[key], int):
                errors.append("The %s limit in survey question %s expected to be integer." % (key, idx))
        if qtype in ("multiselect", "multiplechoice"):
            if "choices" not in item:
                errors.append("Survey question %s of type %s must specify choices." % (idx, qtype))
                continue
            choices = item["choices"]
            if isinstance(choices, str):
                choices = [c for c in choices.splitlines() if c.strip() != ""]
            if "default" in item:
                defaults = ([d for d in item["default"].splitlines() if d.strip() != ""]
                            if isinstance(item["default"], str) else item["default"])
                if qtype == "multiplechoice" and len(defaults) > 1:
                    errors.append("Multiple Choice (Single Select) can only have one default value.")
                if any(d not in choices for d in defaults):
                    errors.append("Default choice must be answered from the choices listed.")
        if isinstance(item.get("default"), str) and item["default"].startswith("$encrypted$"):
            errors.append("$encrypted$ is a reserved keyword, may not be used for new default in position %s." % idx)
    return errors


def awx_validate_answer(item: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """What AWX says of an answer (or of the default, which it only applies when this passes)."""
    variable, qtype = item["variable"], item["type"]
    if variable not in data:
        return ["'%s' value missing" % variable] if item["required"] else []
    value = data[variable]
    errors = []
    if qtype in ("text", "textarea", "password"):
        if not isinstance(value, str):
            return ["Value %s for '%s' expected to be a string." % (value, variable)]
        if item.get("min") not in ("", None) and len(value) < int(item["min"]):
            errors.append("'%s' value %s is too small (length is %s must be at least %s)." % (
                variable, value, len(value), item["min"]))
        if item.get("max") not in ("", None) and len(value) > int(item["max"]):
            errors.append("'%s' value %s is too large (must be no more than %s)." % (variable, value, item["max"]))
    elif qtype == "integer":
        if type(value) is not int:  # pylint: disable=unidiomatic-typecheck
            return ["Value %s for '%s' expected to be an integer." % (value, variable)]
        if item.get("min") not in ("", None) and value < int(item["min"]):
            errors.append("'%s' value %s is too small (must be at least %s)." % (variable, value, item["min"]))
        if item.get("max") not in ("", None) and value > int(item["max"]):
            errors.append("'%s' value %s is too large (must be no more than %s)." % (variable, value, item["max"]))
    elif qtype == "float":
        if type(value) not in (float, int):
            return ["Value %s for '%s' expected to be a numeric type." % (value, variable)]
    elif qtype in ("multiselect", "multiplechoice"):
        choices = item["choices"]
        if isinstance(choices, str):
            choices = [c for c in choices.splitlines() if c.strip() != ""]
        values = value if qtype == "multiselect" else [value]
        if qtype == "multiselect" and not isinstance(value, list):
            return ["'%s' value is expected to be a list." % variable]
        errors += ["Value %s for '%s' expected to be one of %s." % (v, variable, choices) for v in values
                   if v not in choices]
    return errors


def load_survey(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def test_the_validator_rejects_what_awx_rejects():
    good = {"name": "s", "description": "d", "spec": [
        {"type": "multiplechoice", "question_name": "q", "variable": "v", "required": True, "choices": ["a", "b"],
         "default": "a"}]}
    assert awx_validate_spec(good) == []
    assert awx_validate_spec({"name": "s", "spec": good["spec"]}) == ["Field 'description' is missing from survey spec."]
    bad_default = json.loads(json.dumps(good))
    bad_default["spec"][0]["default"] = "c"
    assert awx_validate_spec(bad_default) == ["Default choice must be answered from the choices listed."]
    dup = {"name": "s", "description": "d", "spec": good["spec"] * 2}
    assert "duplicated" in awx_validate_spec(dup)[0]
    wrong_type = {"name": "s", "description": "d", "spec": [
        {"type": "boolean", "question_name": "q", "variable": "v", "required": True}]}
    assert "allowed question types" in awx_validate_spec(wrong_type)[0]
    integer = {"type": "integer", "question_name": "q", "variable": "n", "required": True, "min": 1, "max": 5}
    assert awx_validate_answer(integer, {"n": 0}) and awx_validate_answer(integer, {"n": "3"})
    assert awx_validate_answer(integer, {"n": 3}) == []


@pytest.mark.parametrize("path", SURVEYS, ids=[os.path.basename(p) for p in SURVEYS])
def test_survey_specs_pass_awx_validation(path):
    spec = load_survey(path)
    assert awx_validate_spec(spec) == []
    for item in spec["spec"]:
        if "default" in item:
            # AWX applies a default only when it validates as an answer.
            assert awx_validate_answer(item, {item["variable"]: item["default"]}) == [], item
        assert item["variable"].startswith("rdsca_"), item
        assert item.get("question_description"), "every question explains itself: %s" % item["variable"]


def test_survey_variables_are_read_by_the_playbooks():
    with open(os.path.join(REPO, "playbooks", "tasks", "settings.yml"), encoding="utf-8") as handle:
        settings = handle.read()
    for path in SURVEYS:
        for item in load_survey(path)["spec"]:
            assert item["variable"] in settings, "%s asks for %s, which no playbook reads" % (path, item["variable"])
    questions = {os.path.basename(p): {i["variable"] for i in load_survey(p)["spec"]} for p in SURVEYS}
    # The survey of the issue: regions, target CA, allow restart, batch size.
    for name in ("rotate_staging.json", "rotate_production.json", "rotate_workflow.json"):
        assert {"rdsca_regions", "rdsca_target_ca", "rdsca_allow_restart", "rdsca_max_concurrent"} <= questions[name]
    assert {"rdsca_regions", "rdsca_target_ca"} <= questions["audit.json"]


def test_survey_answers_become_typed_settings(tmp_path):
    """What AWX sends for each survey, defaults and typical answers, through tasks/settings.yml."""
    _ensure_collection_link()
    spec = load_survey(os.path.join(AWX, "surveys", "rotate_workflow.json"))
    defaults = {item["variable"]: item["default"] for item in spec["spec"] if "default" in item}
    answers = dict(defaults, rdsca_regions="us-east-1, eu-west-1", rdsca_allow_restart="true", rdsca_max_concurrent=3,
                   rdsca_identifiers="orders-* billing-legacy-prod")
    for item in spec["spec"]:
        assert awx_validate_answer(item, answers) == []
    playbook = tmp_path / "settings.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Settings from survey answers", "hosts": "localhost", "gather_facts": False,
        "tasks": [
            {"name": "Resolve", "ansible.builtin.import_tasks": os.path.join(REPO, "playbooks", "tasks", "settings.yml")},
            {"name": "Save", "ansible.builtin.copy": {"content": "{{ rdsca_cfg | to_json }}",
                                                      "dest": str(tmp_path / "{{ label }}.json"), "mode": "0600"}},
        ],
    }]))
    results = {}
    for label, extra in (("defaults", defaults), ("answers", answers)):
        proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
                               "-e", json.dumps(dict(extra, label=label)), "-e", "ansible_python_interpreter=" + sys.executable],
                              capture_output=True, text=True, env=_env(), cwd=str(tmp_path), check=False, timeout=120)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        results[label] = json.loads((tmp_path / (label + ".json")).read_text())
    d, a = results["defaults"], results["answers"]
    assert (d["regions"], d["target_ca"], d["allow_restart"], d["max_concurrent"], d["identifiers"], d["engines"]) == \
        ("all", "rds-ca-rsa2048-g1", False, 5, [], [])
    assert (a["regions"], a["allow_restart"], a["max_concurrent"], a["identifiers"]) == \
        (["us-east-1", "eu-west-1"], True, 3, ["orders-*", "billing-legacy-prod"])
    assert a["staging_allow_restart"] is True and a["on_restart_required"] == "schedule"


# -- configure.yml --------------------------------------------------------------------------------------------

def _configure() -> dict[str, Any]:
    with open(CONFIGURE, encoding="utf-8") as handle:
        (play,) = yaml.safe_load(handle.read().replace("!unsafe", ""))
    return play


def test_configure_playbook_syntax():
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", "-i", "localhost,", CONFIGURE],
                          capture_output=True, text=True, env=_env(), cwd=REPO, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_configure_playbook_passes_ansible_lint_production_profile():
    _ensure_collection_link()
    proc = subprocess.run([os.path.join(BIN, "ansible-lint"), "--profile", "production", "--nocolor", "extensions/awx",
                           "meta/execution-environment.yml"], capture_output=True, text=True, env=_env(), cwd=REPO,
                          check=False, timeout=600)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]


def test_job_templates_and_workflow():
    play = _configure()
    tasks = {task["name"]: task for task in play["tasks"]}
    templates = play["vars"]["rdsca_awx_job_templates"]
    prefix = play["vars"]["rdsca_awx_prefix"]
    names = [t["name"].replace("{{ rdsca_awx_prefix }}", prefix) for t in templates]
    assert names == ["RDS CA | audit", "RDS CA | rotate staging", "RDS CA | rotate production"]
    for template in templates:
        assert os.path.isfile(os.path.join(REPO, template["playbook"])), template["playbook"]
        assert os.path.isfile(os.path.join(AWX, template["survey"])), template["survey"]
    phases = {t["name"].split("| ")[1]: t["extra_vars"].get("rdsca_phase") for t in templates}
    assert phases == {"audit": None, "rotate staging": "staging", "rotate production": "production"}
    job_template = tasks["Job templates, with their surveys"]["awx.awx.job_template"]
    assert job_template["survey_enabled"] is True and "item.survey" in job_template["survey_spec"]
    # Workflow: staging -> approval -> production, and nothing else.
    workflow = tasks["Workflow - staging, approval, production"]["awx.awx.workflow_job_template"]
    nodes = {node["identifier"]: node for node in workflow["workflow_nodes"]}
    assert list(nodes) == ["rotate-staging", "approve-production", "rotate-production"]
    assert nodes["approve-production"]["unified_job_template"]["type"] == "workflow_approval"
    edges = {ident: [n["identifier"] for n in node.get("related", {}).get("success_nodes", [])] for ident, node in nodes.items()}
    assert edges == {"rotate-staging": ["approve-production"], "approve-production": ["rotate-production"],
                     "rotate-production": []}
    for ident in ("rotate-staging", "rotate-production"):
        ujt = nodes[ident]["unified_job_template"]
        assert ujt["type"] == "job_template"
        assert ujt["name"].replace("{{ rdsca_awx_prefix }}", prefix) in names
    assert "rotate_workflow.json" in workflow["survey_spec"]
    # The database monitor credential type injects what rds_ssl_usage reads.
    credential_type = tasks["Credential type for the database login that rds_ssl_usage uses"]["awx.awx.credential_type"]
    assert set(credential_type["injectors"]["extra_vars"]) == {"rdsca_ssl_usage_login_user",
                                                               "rdsca_ssl_usage_login_password"}
    assert credential_type["kind"] in ("cloud", "net")


# -- execution environment ------------------------------------------------------------------------------------

# -- the built collection (issue 19): what users get, installed from the tarball ------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The collection built from this repository into a temporary directory and installed from that tarball
    (offline, without dependencies: they are in the venv's ansible package), as a user installs it."""
    tmp = tmp_path_factory.mktemp("built")
    proc = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(tmp), REPO],
                          capture_output=True, text=True, cwd=str(tmp), env=_env(), check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (tarball,) = glob.glob(str(tmp / "rdsca-rotation-*.tar.gz"))
    # --force: the repository's own link farm (.build/collections) already provides rdsca.rotation.
    proc = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "--force",
                           "-p", str(tmp / "collections"), tarball], capture_output=True, text=True, cwd=str(tmp),
                          env=_env(), check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    installed = tmp / "collections" / "ansible_collections" / "rdsca" / "rotation"
    assert (installed / "MANIFEST.json").is_file()
    return tarball, installed


def test_the_tarball_holds_what_users_need_and_no_development_files(built):
    import tarfile  # pylint: disable=import-outside-toplevel

    tarball, installed = built
    with tarfile.open(tarball) as archive:
        members = set(archive.getnames())
    tops = {name.split("/", 1)[0] for name in members}
    for needed in ("MANIFEST.json", "FILES.json", "README.md", "LICENSE", "plugins", "roles", "playbooks", "docs", "meta",
                   "extensions", "changelogs", "requirements.txt", "bindep.txt"):
        assert needed in tops, (needed, sorted(tops))
    for needed in ("plugins/modules/rds_ca_facts.py", "playbooks/rotate.yml", "playbooks/tasks/settings.yml",
                   "roles/ca_trust/tasks/main.yml", "meta/runtime.yml", "meta/execution-environment.yml",
                   "extensions/awx/execution-environment.yml", "extensions/awx/configure.yml"):
        assert needed in members, needed
    for unwanted in ("tests", "benchmarks", "Makefile", ".ci", "scripts", ".venv", ".build", "reports", "rdsca-reports",
                     "demo-output", "requirements-dev.txt", ".ansible-lint", ".gitignore", ".hypothesis", ".pytest_cache"):
        assert unwanted not in tops, (unwanted, sorted(tops))
    assert not [name for name in members if "__pycache__" in name or name.endswith((".pyc", ".tar.gz"))]
    # Installed from the tarball, the collection's playbooks are found by name.
    env = dict(_env(), ANSIBLE_COLLECTIONS_PATH=str(installed.parents[2]))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", "-i", "localhost,",
                           "rdsca.rotation.rotate"], capture_output=True, text=True, cwd=str(installed.parents[3]),
                          env=env, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_galaxy_metadata_has_no_placeholder_left_unsaid():
    """repository/homepage/issues are set; while they are placeholders, galaxy.yml says so."""
    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as handle:
        text = handle.read()
    galaxy = yaml.safe_load(text)
    for key in ("repository", "homepage", "issues", "documentation"):
        assert galaxy.get(key, "").startswith("https://"), key
    if any("example.invalid" in galaxy[key] for key in ("repository", "homepage", "issues")):
        assert "placeholders" in text


def test_ansible_builder_from_the_installed_collection_makes_a_context_that_holds_it(built, tmp_path):
    """Issue 19: the definition pointed at ../../.build/ee/*.tar.gz, so from an installed collection ansible-builder
    printed "No matches", exited 0 and wrote a Containerfile that installs a missing file. From the installed copy
    (what `make ee` runs), the context holds the collection and the Containerfile installs what is there."""
    builder = shutil.which("ansible-builder", path=BIN) or shutil.which("ansible-builder")
    if builder is None:
        pytest.skip("ansible-builder is not installed (requirements-dev.txt)")
    tarball, installed = built
    definition = installed / "extensions" / "awx" / "execution-environment.yml"
    context = tmp_path / "context"
    proc = subprocess.run([builder, "create", "-f", str(definition), "--context", str(context)], capture_output=True,
                          text=True, cwd=str(tmp_path), check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No matches" not in proc.stdout + proc.stderr and "does not exist" not in proc.stdout + proc.stderr
    build = context / "_build"
    # The collection in the context is the one built: same manifest, every file of FILES.json present.
    shipped = build / "rdsca" / "rotation"
    with open(installed / "MANIFEST.json", encoding="utf-8") as handle:
        manifest = json.load(handle)
    assert json.loads((shipped / "MANIFEST.json").read_text()) == manifest
    files = json.loads((shipped / "FILES.json").read_text())["files"]
    missing = [f["name"] for f in files if not (shipped / f["name"]).exists()]
    assert not missing and len(files) > 50, missing
    assert not (shipped / "tests").exists() and not (shipped / ".venv").exists()
    # Its requirements, and the pinned base image with Python >= 3.10.
    with open(os.path.join(REPO, "requirements.txt"), encoding="utf-8") as handle:
        python = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    with open(os.path.join(REPO, "bindep.txt"), encoding="utf-8") as handle:
        system = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    assert set(python) <= set((build / "requirements.txt").read_text().splitlines())
    assert set(system) <= set((build / "bindep.txt").read_text().splitlines())
    galaxy = yaml.safe_load((build / "requirements.yml").read_text())
    assert {c["name"] for c in galaxy["collections"]} >= {"amazon.aws", "community.general", "ansible.windows"}
    containerfile = next(p for p in (context / "Containerfile", context / "Dockerfile") if p.exists()).read_text()
    image = re.search(r'^ARG EE_BASE_IMAGE="([^"]+)"', containerfile, re.M).group(1)
    assert re.match(r"^[\w./-]+:[\w.-]+$", image) and not image.endswith(":latest"), image
    version = re.search(r'^ARG PYCMD="/usr/bin/python3\.(\d+)"', containerfile, re.M)
    assert version and int(version.group(1)) >= 10, containerfile[:400]
    # The Containerfile's own install step, run here against the context (what the image build does next).
    (step,) = [line for line in containerfile.splitlines() if "collection install" in line and "/build/rdsca/rotation" in line]
    target = tmp_path / "image-collections"
    command = step[len("RUN "):].replace("/build/", str(build) + "/").replace("/usr/share/ansible/collections", str(target))
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=str(build), check=False, timeout=300,
                          env=dict(_env(), ANSIBLE_GALAXY_CLI_COLLECTION_OPTS="", ANSIBLE_COLLECTIONS_PATH=str(target),
                                   PATH=BIN + os.pathsep + os.environ.get("PATH", "")))
    assert proc.returncode == 0, command + "\n" + proc.stdout + proc.stderr
    image_copy = target / "ansible_collections" / "rdsca" / "rotation"
    assert json.loads((image_copy / "MANIFEST.json").read_text())["collection_info"]["version"] == \
        manifest["collection_info"]["version"]
    assert (image_copy / "plugins" / "modules" / "rds_ca_rotate.py").is_file()
    # Then introspection of the installed collection finds its requirements (meta/execution-environment.yml).
    proc = subprocess.run([sys.executable, str(build / "scripts" / "introspect.py"), "introspect", str(target)],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = yaml.safe_load(proc.stdout)
    for requirement in python:
        assert "%s  # from collection rdsca.rotation" % requirement in found["python"]
    assert "openssl [platform:dpkg platform:rpm]  # from collection rdsca.rotation" in found["system"]
    assert os.path.basename(tarball).startswith("rdsca-rotation-%s" % manifest["collection_info"]["version"])
