"""AWX / Automation Platform: the configuration as code (extensions/awx/configure.yml), its surveys, and the
execution environment, tested without an AWX server but against the real pieces:

- configure.yml runs in ansible-playbook for real, every awx.awx task's final arguments validated by that awx.awx
  module's own argument spec (tests/integration/awx_validate_action.py, loaded from the installed awx.awx
  collection), with every optional object on and with the defaults; it creates every object an AWX job needs
  (inventory, credentials, notifications, job templates with surveys, rollback, workflow, schedule);
- the AWS credential type's injected config file is read by botocore and assumes the role (STS of the simulator);
- the weekly schedule's RRULE is parsed by dateutil (the parser AWX uses);
- every survey answer AWX can send (defaults, integer limits, every choice) goes through the playbooks' own
  settings (tasks/settings.yml and its rdsca.rotation.number_settings filter) without a problem;
- the built tarball holds what users need, and `ansible-builder create` on the collection installed from it makes a
  build context that holds the collection and its requirements.
"""

from __future__ import annotations

import configparser
import glob
import json
import os
import re
import shutil
import subprocess
import sys
from typing import Any
from urllib.parse import urlparse

import jinja2.sandbox
import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AWX = os.path.join(REPO, "extensions", "awx")
CONFIGURE = os.path.join(AWX, "configure.yml")
SURVEYS = sorted(glob.glob(os.path.join(AWX, "surveys", "*.json")))
BIN = os.path.dirname(sys.executable)
COLLECTIONS_PATH = os.path.join(REPO, ".build", "collections")
VALIDATE_ACTION = os.path.join(os.path.dirname(os.path.abspath(__file__)), "awx_validate_action.py")


def _env() -> dict[str, str]:
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1",
                ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")


def _ensure_collection_link() -> None:
    link = os.path.join(COLLECTIONS_PATH, "ansible_collections", "rdsca", "rotation")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        try:
            os.symlink(os.path.relpath(REPO, os.path.dirname(link)), link)
        except FileExistsError:  # another pytest-xdist worker made it first (the same link)
            pass


def load_survey(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


# -- configure.yml, run for real against awx.awx's argument specs --------------------------------------------

def _installed_awx() -> str:
    import ansible_collections.awx.awx  # pylint: disable=import-outside-toplevel

    return os.path.dirname(ansible_collections.awx.awx.__file__) if ansible_collections.awx.awx.__file__ \
        else list(ansible_collections.awx.awx.__path__)[0]


@pytest.fixture(scope="module")
def awx_validating(tmp_path_factory):
    """A collections path whose awx.awx is the installed one (modules and module_utils linked) plus, for every
    module, the validating action plugin: running a task validates it with that module's argument spec."""
    try:
        real = _installed_awx()
    except ImportError:
        pytest.skip("the awx.awx collection is not installed (the ansible package of requirements-dev.txt has it)")
    root = tmp_path_factory.mktemp("awx") / "collections"
    collection = root / "ansible_collections" / "awx" / "awx"
    (collection / "plugins" / "action").mkdir(parents=True)
    for part in ("plugins/modules", "plugins/module_utils", "plugins/doc_fragments", "meta"):
        os.symlink(os.path.join(real, part), str(collection / part))
    shutil.copy(os.path.join(real, "MANIFEST.json"), str(collection / "MANIFEST.json"))
    modules = [name[:-3] for name in os.listdir(os.path.join(real, "plugins", "modules"))
               if name.endswith(".py") and not name.startswith("_")]
    assert "job_template" in modules and "schedule" in modules
    for name in modules:
        shutil.copy(VALIDATE_ACTION, str(collection / "plugins" / "action" / (name + ".py")))
    return str(root)


# The two settings configure.yml has no default for (a made-up URL would make a project that never syncs).
REQUIRED_SETTINGS = {
    "rdsca_awx_scm_url": "https://git.example.com/platform/rdsca-rotation.git",
    "rdsca_awx_ee_image": "registry.example.com/rdsca/rotation-ee:0.1.0",
}
FULL_SETTINGS = {
    **REQUIRED_SETTINGS,
    "rdsca_awx_aws_role_arn": "arn:aws:iam::123456789012:role/rdsca-rotation",
    "rdsca_awx_aws_external_id": "rdsca-ext-42",
    "rdsca_awx_aws_access_key": "AKIAEXAMPLEEXAMPLE00",
    "rdsca_awx_aws_secret_key": "not-a-real-secret",
    "rdsca_awx_monitor_password": "not-a-real-password",
    "rdsca_awx_machine_ssh_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n",
    "rdsca_awx_notification": {"notification_type": "webhook", "notification_configuration": {
        "url": "https://chat.example.com/hooks/rdsca", "headers": {}, "http_method": "POST"}},
    "rdsca_awx_client_hosts": [{"name": "app1.example.com", "variables": {"ca_trust_java_keystores": []}},
                               {"name": "app2.example.com"}],
    "rdsca_awx_report_s3_bucket": "example-rdsca-reports",
    "rdsca_awx_credentials": ["Vault of the team"],
}


def run_configure(collections: str, tmp_path, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """configure.yml with ``settings`` on top of the two it requires (REQUIRED_SETTINGS)."""
    settings = {**REQUIRED_SETTINGS, **settings}
    record = tmp_path / "awx-tasks.jsonl"
    if record.exists():
        record.unlink()
    env = dict(_env(), ANSIBLE_COLLECTIONS_PATH=collections + os.pathsep + COLLECTIONS_PATH,
               RDSCA_AWX_RECORD=str(record))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", CONFIGURE, "-e", json.dumps(settings),
                           "-e", "ansible_python_interpreter=" + sys.executable], capture_output=True, text=True,
                          env=env, cwd=str(tmp_path), check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    for secret in ("rdsca_awx_aws_secret_key", "rdsca_awx_monitor_password", "rdsca_awx_machine_ssh_key"):
        if secret in settings:  # the tasks that carry secrets are no_log
            assert settings[secret].strip() not in proc.stdout + proc.stderr, secret
    with open(record, encoding="utf-8") as handle:
        tasks = [json.loads(line) for line in handle]
    assert tasks and all(task["errors"] == [] for task in tasks), tasks
    return tasks


def _by_module(tasks: list[dict[str, Any]], module: str) -> list[dict[str, Any]]:
    return [task["args"] for task in tasks if task["module"] == module]


def _configure_modules() -> list[str]:
    with open(CONFIGURE, encoding="utf-8") as handle:
        (play,) = yaml.safe_load(handle.read().replace("!unsafe", ""))
    return [key.split(".")[-1] for task in play["tasks"] for key in task if key.startswith("awx.awx.")]


def test_the_validating_action_refuses_what_awx_awx_refuses(awx_validating, tmp_path):
    """The validation is awx.awx's: an unknown option, a wrong choice and a missing required option fail."""
    playbook = tmp_path / "bad.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Bad", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Unknown option", "awx.awx.job_template": {"name": "x", "playbok": "a.yml"}, "ignore_errors": True},
        {"name": "Wrong choice", "awx.awx.credential_type": {"name": "x", "kind": "aws"}, "ignore_errors": True},
        {"name": "Missing option", "awx.awx.host": {"name": "x"}, "ignore_errors": True},
        {"name": "Exclusive options", "ignore_errors": True,
         "awx.awx.credential": {"name": "x", "credential_type": "Machine", "organization": "o", "user": "u"}},
        {"name": "Good", "awx.awx.host": {"name": "x", "inventory": "i", "variables": {"a": 1}}},
    ]}]))
    record = tmp_path / "record.jsonl"
    env = dict(_env(), ANSIBLE_COLLECTIONS_PATH=awx_validating, RDSCA_AWX_RECORD=str(record))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", str(playbook),
                           "-e", "ansible_python_interpreter=" + sys.executable], capture_output=True, text=True,
                          env=env, cwd=str(tmp_path), check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    errors = {json.loads(line)["task"]: json.loads(line)["errors"] for line in record.read_text().splitlines()}
    assert "playbok" in " ".join(errors["Unknown option"])
    assert "kind" in " ".join(errors["Wrong choice"]) and "aws" in " ".join(errors["Wrong choice"])
    assert "inventory" in " ".join(errors["Missing option"])
    assert "mutually exclusive" in " ".join(errors["Exclusive options"])
    assert errors["Good"] == []


def test_configure_creates_every_object_a_job_needs(awx_validating, tmp_path):
    tasks = run_configure(awx_validating, tmp_path, FULL_SETTINGS)
    # Every awx.awx task of the playbook ran (and passed its module's validation) with every option on.
    ran = [task["module"] for task in tasks]
    assert sorted(set(ran)) == sorted(set(_configure_modules()))
    # The inventory: localhost with the local connection (the EE's own Python), the clients in rds_clients.
    (inventory,) = _by_module(tasks, "inventory")
    hosts = {h["name"]: h for h in _by_module(tasks, "host")}
    assert set(hosts) == {"localhost", "app1.example.com", "app2.example.com"}
    assert all(h["inventory"] == inventory["name"] for h in hosts.values())
    assert hosts["localhost"]["variables"] == {"ansible_connection": "local",
                                               "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    (group,) = _by_module(tasks, "group")
    assert group["name"] == "rds_clients" and group["hosts"] == ["app1.example.com", "app2.example.com"]
    assert group["preserve_existing_hosts"] is True
    # Credentials: AWS (assume role), database monitor, machine; each attached to every job template.
    types = {t["name"]: t for t in _by_module(tasks, "credential_type")}
    credentials = {c["name"]: c for c in _by_module(tasks, "credential")}
    assert {c["credential_type"] for c in credentials.values()} == {"RDS CA AWS role", "RDS database monitor", "Machine"}
    assert set(types) == {"RDS CA AWS role", "RDS database monitor"}
    assert credentials["RDS CA AWS role"]["inputs"]["role_arn"] == FULL_SETTINGS["rdsca_awx_aws_role_arn"]
    # The injectors reach AWX untemplated (!unsafe): AWX renders them per job (test_the_aws_credential_assumes_the_role).
    assert types["RDS CA AWS role"]["injectors"] == _aws_injector()["injectors"]
    assert types["RDS database monitor"]["injectors"]["extra_vars"]["rdsca_ssl_usage_login_user"] == "{{ username }}"
    monitor_vars = set(types["RDS database monitor"]["injectors"]["extra_vars"])
    assert monitor_vars == {"rdsca_ssl_usage_login_user", "rdsca_ssl_usage_login_password"}
    # Notifications, job templates, rollback.
    (notification,) = _by_module(tasks, "notification_template")
    templates = {t["name"]: t for t in _by_module(tasks, "job_template")}
    assert list(templates) == ["RDS CA | audit", "RDS CA | rotate staging", "RDS CA | rotate production",
                               "RDS CA | rollback"]
    playbooks = {name: t["playbook"] for name, t in templates.items()}
    assert playbooks["RDS CA | rollback"] == "playbooks/rollback.yml"
    for name, template in templates.items():
        assert os.path.isfile(os.path.join(REPO, template["playbook"])), template["playbook"]
        assert sorted(template["credentials"]) == sorted(["Vault of the team"] + list(credentials)), name
        assert template["notification_templates_error"] == [notification["name"]], name
        assert template["notification_templates_success"] == ([] if name.endswith("audit") else [notification["name"]])
        assert template["survey_enabled"] is True and template["survey_spec"]["spec"], name
        assert template["allow_simultaneous"] is False
        assert template["extra_vars"]["rdsca_report_dir"] == "/var/lib/rdsca/reports"
        assert template["extra_vars"]["rdsca_report_s3_bucket"] == "example-rdsca-reports"
    phases = {name: t["extra_vars"].get("rdsca_phase") for name, t in templates.items()}
    assert phases == {"RDS CA | audit": None, "RDS CA | rotate staging": "staging",
                      "RDS CA | rotate production": "production", "RDS CA | rollback": None}
    surveys = {name: t["survey_spec"] for name, t in templates.items()}
    assert surveys["RDS CA | rollback"] == load_survey(os.path.join(AWX, "surveys", "rollback.json"))
    # The workflow: staging -> approval -> production, and nothing else; notified of approvals too.
    (workflow,) = _by_module(tasks, "workflow_job_template")
    assert workflow["notification_templates_approvals"] == [notification["name"]]
    assert workflow["survey_spec"] == load_survey(os.path.join(AWX, "surveys", "rotate_workflow.json"))
    nodes = {node["identifier"]: node for node in workflow["workflow_nodes"]}
    assert list(nodes) == ["rotate-staging", "approve-production", "rotate-production"]
    assert nodes["approve-production"]["unified_job_template"]["type"] == "workflow_approval"
    edges = {ident: [n["identifier"] for n in node.get("related", {}).get("success_nodes", [])]
             for ident, node in nodes.items()}
    assert edges == {"rotate-staging": ["approve-production"], "approve-production": ["rotate-production"],
                     "rotate-production": []}
    for ident in ("rotate-staging", "rotate-production"):
        assert nodes[ident]["unified_job_template"]["type"] == "job_template"
        assert nodes[ident]["unified_job_template"]["name"] in templates
    # The weekly audit, with an RRULE AWX accepts (it parses schedules with dateutil).
    (schedule,) = _by_module(tasks, "schedule")
    assert schedule["unified_job_template"] == "RDS CA | audit"
    from dateutil import rrule  # pylint: disable=import-outside-toplevel

    dtstart, rule = schedule["rrule"].split(" ", 1)
    assert re.match(r"^DTSTART;TZID=UTC:\d{8}T\d{6}$", dtstart)
    parsed = rrule.rrulestr(schedule["rrule"].replace(" ", "\n"), forceset=True)
    first, second = parsed[0], parsed[1]
    assert (second - first).days == 7 and first.weekday() == 0 and rule.startswith("RRULE:FREQ=WEEKLY")


def test_configure_with_the_defaults_creates_no_credential_without_its_secret(awx_validating, tmp_path):
    tasks = run_configure(awx_validating, tmp_path, REQUIRED_SETTINGS)
    assert _by_module(tasks, "credential") == [] and _by_module(tasks, "notification_template") == []
    templates = _by_module(tasks, "job_template")
    assert len(templates) == 4
    for template in templates:
        assert template["credentials"] == [] and template["notification_templates_error"] == []
        assert "rdsca_report_s3_bucket" not in template["extra_vars"]
    assert [h["name"] for h in _by_module(tasks, "host")] == ["localhost"]
    assert _by_module(tasks, "group")[0]["hosts"] == []


def _aws_injector() -> dict[str, Any]:
    with open(CONFIGURE, encoding="utf-8") as handle:
        (play,) = yaml.safe_load(handle.read().replace("!unsafe", ""))
    (task,) = [t for t in play["tasks"] if t.get("awx.awx.credential_type", {}).get("name") == "RDS CA AWS role"]
    return task["awx.awx.credential_type"]


@pytest.mark.parametrize("keys", [True, False], ids=["access-keys", "ee-identity"])
def test_the_aws_credential_assumes_the_role(simulator, tmp_path, keys):
    """The injected file, rendered as AWX renders injectors (Jinja, missing inputs empty), is an AWS config that
    botocore reads: with keys, a source profile assumes the role (STS of the simulator answers with the role's
    credentials); without keys, the role is assumed from the EE's own identity."""
    import boto3  # pylint: disable=import-outside-toplevel

    # The simulator's STS answers AssumeRole only for a role the estate has, with the ExternalId its trust
    # policy requires (tests/simulator/accounts.py): the caller's own account holds the role here.
    simulator.load({"description": "AWX credential: the role in the caller's account",
                    "accounts": {"123456789012": {"roles": ["rdsca-rotation"], "external_id": "ext-1"}},
                    "regions": {"us-east-1": {"instances": []}}})
    credential_type = _aws_injector()
    fields = [f["id"] for f in credential_type["inputs"]["fields"]]
    inputs = dict.fromkeys(fields, "")
    inputs.update(role_arn="arn:aws:iam::123456789012:role/rdsca-rotation", external_id="ext-1")
    if keys:
        inputs.update(access_key="AKIAEXAMPLEEXAMPLE00", secret_key="secret")
    environment = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    text = environment.from_string(credential_type["injectors"]["file"]["template"]).render(**inputs)
    config_file = tmp_path / "aws-config"
    config_file.write_text(text)
    env = {k: environment.from_string(v).render(tower={"filename": str(config_file)})
           for k, v in credential_type["injectors"]["env"].items()}
    assert env["AWS_CONFIG_FILE"] == str(config_file)
    parser = configparser.ConfigParser()
    parser.read_string(text)
    profile = parser["profile " + env["AWS_PROFILE"]]
    assert profile["role_arn"] == inputs["role_arn"] and profile["external_id"] == "ext-1"
    if not keys:
        assert profile["credential_source"] == "Ec2InstanceMetadata" and "source_profile" not in profile
        return
    assert parser["profile " + profile["source_profile"]]["aws_access_key_id"] == "AKIAEXAMPLEEXAMPLE00"
    saved = {k: os.environ.get(k) for k in ("AWS_CONFIG_FILE", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE",
                                            "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    try:
        for key in saved:
            os.environ.pop(key, None)
        os.environ.update(AWS_CONFIG_FILE=str(config_file), AWS_PROFILE=env["AWS_PROFILE"],
                          AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_ENDPOINT_URL=simulator.url)
        session = boto3.session.Session(region_name="us-east-1")
        identity = session.client("sts").get_caller_identity()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert identity["Arn"].startswith("arn:aws:sts::123456789012:assumed-role/rdsca-rotation/rdsca-rotation"), identity


# -- surveys: what AWX sends, through the playbooks' own settings ----------------------------------------------

def test_survey_specs_are_complete():
    """Each question explains itself, asks for an rdsca_* variable that tasks/settings.yml reads, once per survey;
    choices and defaults agree; the surveys ask what the issues asked for."""
    with open(os.path.join(REPO, "playbooks", "tasks", "settings.yml"), encoding="utf-8") as handle:
        settings = handle.read()
    questions = {}
    for path in SURVEYS:
        spec = load_survey(path)
        assert spec["name"] and spec["description"] and spec["spec"], path
        variables = [item["variable"] for item in spec["spec"]]
        assert len(variables) == len(set(variables)), path
        for item in spec["spec"]:
            assert item["variable"].startswith("rdsca_") and item["variable"] in settings, (path, item["variable"])
            assert item.get("question_description"), "every question explains itself: %s" % item["variable"]
            if item["type"] == "multiplechoice":
                assert item["default"] in item["choices"], item
        questions[os.path.basename(path)] = set(variables)
    for name in ("rotate_staging.json", "rotate_production.json", "rotate_workflow.json"):
        assert {"rdsca_regions", "rdsca_target_ca", "rdsca_allow_restart", "rdsca_max_concurrent"} <= questions[name]
    assert {"rdsca_regions", "rdsca_target_ca"} <= questions["audit.json"]
    assert {"rdsca_rollback_report", "rdsca_allow_restart"} <= questions["rollback.json"]
    # Offline: every survey can name a CA bundle instead of downloading AWS's.
    assert all("rdsca_ca_bundle" in found for found in questions.values())
    # Issue 18: the connection-log evidence and the clients nobody manages; only a rotation can stop on them.
    log_questions = {"rdsca_ssl_usage_log_window_days", "rdsca_ssl_usage_log_source", "rdsca_shared_addresses"}
    assert log_questions <= questions["audit.json"] and "rdsca_stop_on_unmanaged_tls_clients" not in questions["audit.json"]
    for name in ("rotate_staging.json", "rotate_production.json", "rotate_workflow.json"):
        assert log_questions | {"rdsca_stop_on_unmanaged_tls_clients"} <= questions[name], name


def _answer_sets(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """What AWX sends for a survey: its defaults, and each limit and choice (integers as integers, the rest as
    strings), a required text without default given a typical answer."""
    low, high = {}, {}
    for index, item in enumerate(spec["spec"]):
        variable = item["variable"]
        if item["type"] == "integer":
            low[variable], high[variable] = item["min"], item["max"]
        elif item["type"] == "multiplechoice":
            low[variable], high[variable] = item["choices"][0], item["choices"][-1]
        elif "default" in item:
            low[variable] = high[variable] = item["default"]
        if item["type"] == "multiplechoice" and len(item["choices"]) > 2:
            high.setdefault("_middle", {})[index] = item["choices"][1:-1]
    defaults = {item["variable"]: item["default"] for item in spec["spec"] if "default" in item}
    sets = [defaults, low, {k: v for k, v in high.items() if k != "_middle"}]
    for index, middles in high.get("_middle", {}).items():
        for choice in middles:
            sets.append(dict(defaults, **{spec["spec"][index]["variable"]: choice}))
    return sets


def test_every_survey_answer_becomes_a_valid_setting(tmp_path):
    """Defaults, integer limits and every choice of every survey through tasks/settings.yml (its number_settings
    filter is the validator the playbooks run): no problem, and the typed values the playbooks use."""
    _ensure_collection_link()
    plays, expected = [], []
    required_text = {"rdsca_rollback_report": str(tmp_path / "rotate-20260101T000000Z.json")}
    for path in SURVEYS:
        spec = load_survey(path)
        for number, answers in enumerate(_answer_sets(spec)):
            answers = dict(answers)
            for variable, value in required_text.items():
                if any(item["variable"] == variable for item in spec["spec"]):
                    answers.setdefault(variable, value)
            label = "%s-%d" % (os.path.basename(path)[:-5], number)
            expected.append((label, answers))
            plays.append({"name": label, "hosts": "localhost", "gather_facts": False,
                          "vars": dict(answers, rdsca_report_dir=str(tmp_path / "reports")), "tasks": [
                              {"name": "Resolve", "ansible.builtin.import_tasks":
                               os.path.join(REPO, "playbooks", "tasks", "settings.yml")},
                              {"name": "Save", "ansible.builtin.copy": {
                                  "content": "{{ {'cfg': rdsca_cfg, 'problems': rdsca_numbers.problems} | to_json }}",
                                  "dest": str(tmp_path / (label + ".json")), "mode": "0600"}}]})
    playbook = tmp_path / "answers.yml"
    playbook.write_text(yaml.safe_dump(plays))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
                           "-e", "ansible_python_interpreter=" + sys.executable],
                          capture_output=True, text=True, env=_env(), cwd=str(tmp_path), check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert len(expected) >= 15
    for label, answers in expected:
        result = json.loads((tmp_path / (label + ".json")).read_text())
        cfg = result["cfg"]
        assert result["problems"] == [], (label, answers)
        if "rdsca_max_concurrent" in answers:
            assert cfg["max_concurrent"] == answers["rdsca_max_concurrent"], label
        if "rdsca_ssl_usage_sample_seconds" in answers:
            assert cfg["ssl_usage_sample_seconds"] == answers["rdsca_ssl_usage_sample_seconds"], label
        if "rdsca_allow_restart" in answers:
            assert cfg["allow_restart"] is (answers["rdsca_allow_restart"] == "true"), label
        if "rdsca_target_ca" in answers:
            assert cfg["target_ca"] == answers["rdsca_target_ca"], label
        if answers.get("rdsca_regions") == "all":
            assert cfg["regions"] == "all", label
        if "rdsca_ssl_usage_log_window_days" in answers:
            assert cfg["ssl_usage_log_window_days"] == answers["rdsca_ssl_usage_log_window_days"], label
            assert cfg["ssl_usage_log_source"] == answers["rdsca_ssl_usage_log_source"], label
        if "rdsca_stop_on_unmanaged_tls_clients" in answers:
            assert cfg["stop_on_unmanaged_tls_clients"] is (answers["rdsca_stop_on_unmanaged_tls_clients"] == "true"), label
        if "rdsca_shared_addresses" in answers:
            assert cfg["shared_addresses"] == {}, label
        assert cfg["ca_bundle"] == "" and cfg["identifiers"] == [] and cfg["engines"] == [], label


def test_survey_text_answers_become_lists_and_paths(tmp_path):
    """Typical text answers (comma/space separated regions and identifiers, a relative CA bundle path): lists, and a
    path relative to the job's working directory."""
    _ensure_collection_link()
    answers = {"rdsca_regions": "us-east-1, eu-west-1", "rdsca_allow_restart": "true", "rdsca_max_concurrent": 3,
               "rdsca_identifiers": "orders-* billing-legacy-prod", "rdsca_engines": "postgres,aurora-mysql",
               "rdsca_ca_bundle": "bundles/global-bundle.pem", "rdsca_report_dir": str(tmp_path / "reports")}
    playbook = tmp_path / "settings.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Settings from survey answers", "hosts": "localhost", "gather_facts": False, "vars": answers,
        "tasks": [
            {"name": "Resolve", "ansible.builtin.import_tasks": os.path.join(REPO, "playbooks", "tasks", "settings.yml")},
            {"name": "Save", "ansible.builtin.copy": {"content": "{{ rdsca_cfg | to_json }}",
                                                      "dest": str(tmp_path / "cfg.json"), "mode": "0600"}},
        ],
    }]))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
                           "-e", "ansible_python_interpreter=" + sys.executable],
                          capture_output=True, text=True, env=_env(), cwd=str(tmp_path), check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    cfg = json.loads((tmp_path / "cfg.json").read_text())
    assert (cfg["regions"], cfg["allow_restart"], cfg["max_concurrent"], cfg["identifiers"], cfg["engines"]) == \
        (["us-east-1", "eu-west-1"], True, 3, ["orders-*", "billing-legacy-prod"], ["postgres", "aurora-mysql"])
    assert cfg["ca_bundle"] == str(tmp_path / "bundles" / "global-bundle.pem")
    assert cfg["staging_allow_restart"] is True and cfg["on_restart_required"] == "schedule"


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


def test_galaxy_metadata_ships_no_made_up_url():
    """Issue 19: galaxy.yml's repository/homepage/documentation/issues were example.invalid placeholders, shipped in
    every build's MANIFEST.json. No public URL is known yet, so none is claimed: each key is either absent or a real
    https URL (no example/invalid/localhost domain), and galaxy.yml says where to add them."""
    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as handle:
        text = handle.read()
    galaxy = yaml.safe_load(text)
    for key in ("repository", "homepage", "issues", "documentation"):
        if key in galaxy:
            host = urlparse(galaxy[key]).hostname or ""
            assert galaxy[key].startswith("https://"), key
            assert not re.search(r"(^|\.)(example\.(com|org|net)|invalid|localhost)$", host), (key, host)
    assert "repository:" in text  # the comment that says where the URLs go once published
    # ansible-lint's galaxy[no-repository] is skipped exactly while there is no repository to name.
    with open(os.path.join(REPO, ".ansible-lint"), encoding="utf-8") as handle:
        lint = yaml.safe_load(handle)
    assert ("galaxy[no-repository]" in (lint.get("skip_list") or [])) == ("repository" not in galaxy)


def test_configure_says_which_settings_have_no_default_before_any_change(awx_validating, tmp_path):
    """Without the project's git URL and the EE image, configure.yml stops at its first task with a message that
    names both and creates nothing (it used to create a project pointing at example.invalid)."""
    record = tmp_path / "awx-tasks.jsonl"
    env = dict(_env(), ANSIBLE_COLLECTIONS_PATH=awx_validating + os.pathsep + COLLECTIONS_PATH,
               RDSCA_AWX_RECORD=str(record))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", CONFIGURE,
                           "-e", "ansible_python_interpreter=" + sys.executable], capture_output=True, text=True,
                          env=env, cwd=str(tmp_path), check=False, timeout=300)
    assert proc.returncode != 0
    assert "rdsca_awx_scm_url" in proc.stdout and "rdsca_awx_ee_image" in proc.stdout
    assert not record.exists() or record.read_text() == ""


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


def test_make_ee_builds_the_tarball_installs_it_and_writes_the_context(tmp_path):
    """Issue 19: the documented `make ee` (README) - the tarball, its installed copy and ansible-builder's context
    from that copy - in a directory of this test's own (EE_DIR), with the venv running this test (-o: not rebuilt)."""
    if not (shutil.which("ansible-builder", path=BIN) or shutil.which("ansible-builder")) or not shutil.which("make"):
        pytest.skip("ansible-builder (requirements-dev.txt) or make is not installed")
    where = tmp_path / "ee"
    proc = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "-o", ".venv", "ee",
                           "EE_DIR=%s" % where, "BIN=%s" % BIN], capture_output=True, text=True, cwd=REPO,
                          env=_env(), check=False, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "ee: build context in %s/context" % where in proc.stdout
    assert "No matches" not in proc.stdout + proc.stderr
    (tarball,) = glob.glob(str(where / "rdsca-rotation-*.tar.gz"))
    installed = where / "collections" / "ansible_collections" / "rdsca" / "rotation"
    manifest = json.loads((installed / "MANIFEST.json").read_text())
    assert os.path.basename(tarball) == "rdsca-rotation-%s.tar.gz" % manifest["collection_info"]["version"]
    shipped = where / "context" / "_build" / "rdsca" / "rotation"
    assert json.loads((shipped / "MANIFEST.json").read_text()) == manifest
    assert (shipped / "plugins" / "modules" / "rds_ca_rotate.py").is_file() and not (shipped / "tests").exists()
    assert any((where / "context" / name).is_file() for name in ("Containerfile", "Dockerfile"))


# -- accounts (issue 17): the surveys ask for them, or a structured list is every job's extra var ------------------

def test_the_surveys_ask_for_the_accounts_and_one_workflow_covers_them(awx_validating, tmp_path):
    tasks = run_configure(awx_validating, tmp_path, {})
    templates = {t["name"]: t for t in _by_module(tasks, "job_template")}
    (workflow,) = _by_module(tasks, "workflow_job_template")
    for name, spec in [(n, t["survey_spec"]) for n, t in templates.items()] + [("workflow", workflow["survey_spec"])]:
        variables = [q["variable"] for q in spec["spec"]]
        assert {"rdsca_accounts", "rdsca_account_role_name", "rdsca_strict"} <= set(variables), name
    assert all("rdsca_accounts" not in t["extra_vars"] for t in templates.values())
    assert "extra_vars" not in workflow or "rdsca_accounts" not in (workflow["extra_vars"] or {})


def test_a_structured_account_list_is_every_jobs_extra_var_and_the_surveys_stop_asking(awx_validating, tmp_path):
    accounts = [{"account_id": "111111111111", "alias": "shop-staging", "role_arn": "arn:aws:iam::111111111111:role/rdsca-rotation"},
                {"account_id": "222222222222", "alias": "shop-prod", "role_arn": "arn:aws:iam::222222222222:role/rdsca-rotation",
                 "external_id": "rdsca-ext-prod"}]
    organization = {"enabled": True, "include": ["2222*"], "role_name": "rdsca-audit"}
    tasks = run_configure(awx_validating, tmp_path, {"rdsca_awx_accounts": accounts, "rdsca_awx_aws_organization": organization})
    templates = {t["name"]: t for t in _by_module(tasks, "job_template")}
    (workflow,) = _by_module(tasks, "workflow_job_template")
    assert len(templates) == 4
    for name, template in templates.items():
        assert template["extra_vars"]["rdsca_accounts"] == accounts, name
        assert template["extra_vars"]["rdsca_organization"] == organization, name
        variables = [q["variable"] for q in template["survey_spec"]["spec"]]
        # A survey answer would replace the list: the survey no longer asks; strictness is still a question.
        assert "rdsca_accounts" not in variables and "rdsca_account_role_name" not in variables, name
        assert "rdsca_strict" in variables and "rdsca_regions" in variables, name
    assert workflow["extra_vars"] == {"rdsca_accounts": accounts}
    assert [q["variable"] for q in workflow["survey_spec"]["spec"]] == [
        q["variable"] for q in load_survey(os.path.join(AWX, "surveys", "rotate_workflow.json"))["spec"]
        if q["variable"] not in ("rdsca_accounts", "rdsca_account_role_name")]


def test_survey_account_answers_become_the_modules_accounts(tmp_path):
    """The account IDs of a text survey with the role name: the modules' accounts option; a bad ID stops the run
    before anything is read."""
    _ensure_collection_link()
    plays = []
    for label, answers in (("good", {"rdsca_accounts": "111111111111, 222222222222\n333333333333",
                                     "rdsca_account_role_name": "rdsca-rotation", "rdsca_strict": "true"}),
                           ("bad", {"rdsca_accounts": "111111111111 12345", "rdsca_account_role_name": "rdsca-rotation"})):
        plays.append({"name": label, "hosts": "localhost", "gather_facts": False,
                      "vars": dict(answers, rdsca_report_dir=str(tmp_path / "reports")), "tasks": [{"block": [
                          {"name": "Resolve", "ansible.builtin.import_tasks": os.path.join(REPO, "playbooks", "tasks", "settings.yml")}],
                          "always": [{"name": "Save", "ansible.builtin.copy": {
                              "content": "{{ {'cfg': rdsca_cfg | default(none), 'accounts': rdsca_account_settings} | to_json }}",
                              "dest": str(tmp_path / (label + ".json")), "mode": "0600"}}]}]})
    playbook = tmp_path / "accounts.yml"
    playbook.write_text(yaml.safe_dump(plays))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
                           "-e", "ansible_python_interpreter=" + sys.executable],
                          capture_output=True, text=True, env=_env(), cwd=str(tmp_path), check=False, timeout=120)
    good = json.loads((tmp_path / "good.json").read_text())
    assert good["accounts"]["accounts"] == [{"account_id": a} for a in ("111111111111", "222222222222", "333333333333")]
    assert (good["cfg"]["account_role_name"], good["cfg"]["strict"], good["cfg"]["multi_account"]) == ("rdsca-rotation", True, True)
    bad = json.loads((tmp_path / "bad.json").read_text())
    assert bad["accounts"]["problems"] == [
        "rdsca_accounts[1]: account_id must be 12 digits (quote it in YAML: a leading 0 is lost), got '12345'"]
    assert proc.returncode != 0 and "Invalid settings, nothing was changed: rdsca_accounts[1]" in proc.stdout


# -- the clients nobody manages (issue 18): survey answers, or a mapping given to configure.yml ----------------------

COVERAGE_SAVED = ("{{ rdsca_cfg | combine({'_coverage': rdsca_test_usage | rdsca.rotation.client_coverage([], {}, "
                  "shared_addresses=rdsca_cfg.shared_addresses)} if rdsca_test_usage is defined else {}) | to_json }}")


def _settings_of(tmp_path, cases: dict[str, dict[str, Any]]) -> tuple[subprocess.CompletedProcess, dict[str, Any]]:
    """Each case's answers through tasks/settings.yml: {label: its rdsca_cfg (None when the settings refused it)}."""
    _ensure_collection_link()
    plays = []
    for label, answers in cases.items():
        plays.append({"name": label, "hosts": "localhost", "gather_facts": False,
                      "vars": dict(answers, rdsca_report_dir=str(tmp_path / "reports")), "tasks": [{"block": [
                          {"name": "Resolve", "ansible.builtin.import_tasks": os.path.join(REPO, "playbooks", "tasks", "settings.yml")},
                          # With rdsca_test_usage (an rds_ssl_usage result): also what the pre-flight's filter makes of it.
                          {"name": "Save", "ansible.builtin.copy": {"content": COVERAGE_SAVED,
                                                                    "dest": str(tmp_path / (label + ".json")), "mode": "0600"}}],
                          "rescue": [{"name": "Refused", "ansible.builtin.copy": {
                              "content": "{{ {'refused': ansible_failed_result.msg} | to_json }}",
                              "dest": str(tmp_path / (label + ".json")), "mode": "0600"}}]}]})
    playbook = tmp_path / "clients.yml"
    playbook.write_text(yaml.safe_dump(plays))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
                           "-e", "ansible_python_interpreter=" + sys.executable],
                          capture_output=True, text=True, env=_env(), cwd=str(tmp_path), check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc, {label: json.loads((tmp_path / (label + ".json")).read_text()) for label in cases}


def test_survey_answers_for_the_clients_nobody_manages_become_the_settings(tmp_path):
    """The textarea of shared addresses (address=what, one a line or separated by ;) becomes the mapping the
    client_coverage filter takes; a line that is not address=what, or an address given twice, is refused before
    anything is read; the log window, source and stop answers are typed."""
    _proc, cfg = _settings_of(tmp_path, {
        "text": {"rdsca_shared_addresses": "10.0.5.17=NAT gateway nat-0abc\n 10.0.8.0/24 = RDS Proxy orders-proxy subnets \n\n"
                                           "fd00::/8=load balancer; 192.0.2.9=egress",
                 "rdsca_ssl_usage_log_window_days": 7, "rdsca_ssl_usage_log_source": "auto",
                 "rdsca_stop_on_unmanaged_tls_clients": "true"},
        "mapping": {"rdsca_shared_addresses": {"10.0.5.17": "NAT gateway nat-0abc"}},
        "empty": {"rdsca_shared_addresses": ""},
        "bad_line": {"rdsca_shared_addresses": "10.0.5.17=NAT gateway\nnat-gw-without-what"},
        "twice": {"rdsca_shared_addresses": "10.0.5.17=NAT a\n10.0.5.17=NAT b"},
        "bad_source": {"rdsca_ssl_usage_log_source": "s3"},
        "bad_days": {"rdsca_ssl_usage_log_window_days": 32},
    })
    assert cfg["text"]["shared_addresses"] == {"10.0.5.17": "NAT gateway nat-0abc", "10.0.8.0/24": "RDS Proxy orders-proxy subnets",
                                               "fd00::/8": "load balancer", "192.0.2.9": "egress"}
    assert (cfg["text"]["ssl_usage_log_window_days"], cfg["text"]["ssl_usage_log_source"]) == (7, "auto")
    assert cfg["text"]["stop_on_unmanaged_tls_clients"] is True
    assert cfg["mapping"]["shared_addresses"] == {"10.0.5.17": "NAT gateway nat-0abc"}
    assert cfg["empty"]["shared_addresses"] == {} and cfg["empty"]["stop_on_unmanaged_tls_clients"] is False
    for label in ("bad_line", "twice"):
        assert "Invalid settings, nothing was changed" in cfg[label]["refused"], cfg[label]
        assert "address=what lines, each address once" in cfg[label]["refused"], cfg[label]
    assert "nat-gw-without-what" in cfg["bad_line"]["refused"]
    assert "rdsca_ssl_usage_log_source rds, cloudwatch or auto (got s3)" in cfg["bad_source"]["refused"]
    assert "ssl_usage_log_window_days" in cfg["bad_days"]["refused"] and "31" in cfg["bad_days"]["refused"]


def test_the_surveys_shared_addresses_reach_the_coverage_filter(tmp_path):
    """What the survey's text becomes is what rdsca.rotation.client_coverage takes: a client at a NAT gateway given in
    the survey is reported as shared, not as a TLS client nobody manages."""
    usage = {"databases": [{"identifier": "orders", "region": "us-east-1", "log_evidence": {"complete": True, "clients": [
        {"address": "10.0.5.17", "user": "etl", "database": "orders", "application": "etl", "tls": True,
         "first_seen": "2026-12-01T10:00:00Z", "last_seen": "2026-12-01T11:00:00Z", "connections": 2}]}}]}
    _proc, cfg = _settings_of(tmp_path, {
        "shared": {"rdsca_shared_addresses": "10.0.5.0/24=NAT gateway nat-0abc", "rdsca_test_usage": usage},
        "none": {"rdsca_shared_addresses": "", "rdsca_test_usage": usage}})
    shared = cfg["shared"]["_coverage"]
    assert shared["unmanaged_tls_clients"] == [] and [s["shared_as"] for s in shared["shared_addresses"]] == ["NAT gateway nat-0abc"]
    assert [c["address"] for c in cfg["none"]["_coverage"]["unmanaged_tls_clients"]] == ["10.0.5.17"]


def test_a_shared_address_mapping_is_every_jobs_extra_var_and_the_surveys_stop_asking(awx_validating, tmp_path):
    shared = {"10.0.5.17": "NAT gateway nat-0abc", "10.0.8.0/24": "RDS Proxy orders-proxy subnets"}
    tasks = run_configure(awx_validating, tmp_path, {"rdsca_awx_shared_addresses": shared})
    templates = {t["name"]: t for t in _by_module(tasks, "job_template")}
    (workflow,) = _by_module(tasks, "workflow_job_template")
    for name, template in templates.items():
        assert template["extra_vars"]["rdsca_shared_addresses"] == shared, name
        assert "rdsca_shared_addresses" not in [q["variable"] for q in template["survey_spec"]["spec"]], name
    assert workflow["extra_vars"] == {"rdsca_shared_addresses": shared}
    variables = [q["variable"] for q in workflow["survey_spec"]["spec"]]
    assert "rdsca_shared_addresses" not in variables and "rdsca_stop_on_unmanaged_tls_clients" in variables
    # Without it, the surveys ask.
    plain = run_configure(awx_validating, tmp_path, {})
    for template in _by_module(plain, "job_template"):
        if template["name"].endswith(("audit", "staging", "production")):
            assert "rdsca_shared_addresses" in [q["variable"] for q in template["survey_spec"]["spec"]], template["name"]
        assert "rdsca_shared_addresses" not in template["extra_vars"]
