"""Every filter plugin's EXAMPLES block runs (issue 16, DEVELOPERS.md "Every EXAMPLES block runs in a test").

One real ansible-playbook run against the simulator: the playbooks' own settings, discovery and pre-flight task
files produce the state the examples read (rdsca_cfg, rdsca_dbs, rdsca_facts_before, rdsca_usage ...), a real
rds_ca_bundle and a real rds_ca_rotate (check mode) add what they need; then each filter's EXAMPLES tasks run
verbatim, in a block whose vars name that state under the example's variable names (VARIABLES: the only bridge,
kept small). SUBSTITUTIONS moves the examples' file paths into the test's directory.
"""

from __future__ import annotations

import ast
import os
import re
from typing import Any

import yaml

from conftest import REPO

TARGET = "rds-ca-rsa2048-g1"
OLD = "rds-ca-2019"
FILTERS = sorted(f[:-3] for f in os.listdir(os.path.join(REPO, "plugins", "filter")) if f.endswith(".py"))
FLEET = {
    "description": "filter EXAMPLES: staging and production, one database already on the target",
    "timing": {"modify_seconds": 0.2, "reboot_seconds": 0.2},
    "regions": {"us-east-1": {"default_ca": TARGET, "instances": [
        {"id": "app-staging", "engine": "postgres", "engine_version": "16.3", "ca": OLD, "linked": "postgres",
         "tags": {"Environment": "staging"}},
        {"id": "app-prod", "engine": "postgres", "engine_version": "16.3", "ca": OLD,
         "tags": {"Environment": "production"}},
        {"id": "done-prod", "engine": "postgres", "engine_version": "16.3", "ca": TARGET,
         "tags": {"Environment": "production"}},
    ]}},
}
# Run first: the examples later ones read (report, rollback, record).
ORDER = ["run_report", "rollback_entries", "rotation_record"]
# example variable -> the state it stands for (Jinja over the state the prelude made)
VARIABLES: dict[str, dict[str, Any]] = {
    "batch_title": {"rdsca_batch": "{{ rdsca_in_scope }}"},
    "ca_trust_anchors": {"ca_trust_bundle": "{{ test_bundle }}"},
    "ca_trust_report": {"ca_trust_targets": ["rds-ca-rsa2048-g1"],
                        "ca_trust_store_result": {"stores": [{"label": "bundle file", "store": "/etc/ssl/rds.pem",
                                                              "missing": [], "added": [], "removed": []}]}},
    "ca_trust_stores": {
        "ca_trust_certificates": "{{ test_bundle.certificates }}",
        "ca_trust_targets": "{{ test_bundle.certificates | map(attribute='name') | list }}",
        "ca_trust_platform": "debian",
        "ca_trust_platforms": {"debian": {"anchors_dir": "{{ test_dir }}/anchors", "suffix": ".crt",
                                          "trusted_bundle": "{{ test_dir }}/ca-certificates.crt"}},
        "ca_trust_java_keystores": [], "ca_trust_libpq_users": [], "ca_trust_env_files": [],
        "ca_trust_bundle_files": [{"path": "{{ test_dir }}/app/rds-bundle.pem"}]},
    "client_coverage": {"usage": "{{ rdsca_usage }}"},
    "client_databases": {"staging_targets": "{{ rdsca_in_scope }}"},
    "client_endpoints": {"targets": "{{ rdsca_facts_before.databases | rdsca.rotation.verify_targets("
                                    "['us-east-1/done-prod'], '%s') }}" % TARGET},
    "inventory_markdown": {"inventory": "{{ rdsca_facts_before }}"},
    "endpoint_probes": {"probe_result": "{{ rdsca_usage }}", "labels": "{{ rdsca_in_scope | map(attribute='label') | list }}"},
    "replica_families": {"rds_ca": "{{ rdsca_facts_before }}"},
    "rollback_checks": {"facts": "{{ rdsca_facts_before }}"},
    "rotation_batches": {"production_dbs": "{{ rdsca_in_scope | selectattr('phase', 'equalto', 'production') | list }}",
                         "rdsca_max_concurrent": 1, "unreachable": []},
    "rotation_record": {"record": None, "result": "{{ test_rotation }}",
                        "batch": "{{ rdsca_in_scope | selectattr('phase', 'equalto', 'staging') | list }}"},
    "rotation_summary": {"rdsca_rotations": {"production": "{{ record }}"}},
    "ssl_usage_merge": {"inventory": "{{ rdsca_facts_before }}"},
    "usage_chunks": {"inventory": "{{ rdsca_facts_before }}"},
    "verify_targets": {"facts_after": "{{ rdsca_facts_before }}", "staging_labels": ["us-east-1/done-prod"]},
}
SUBSTITUTIONS = [("/var/tmp/", "{tmp}/"), ("/etc/pki/rds/global-bundle.pem", "{bundle}")]


def examples(name: str) -> str:
    with open(os.path.join(REPO, "plugins", "filter", name + ".py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXAMPLES" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("filter %s has no EXAMPLES" % name)


def example_tasks(name: str, tmp: str, bundle: str) -> list[dict[str, Any]]:
    text = examples(name)
    for old, new in SUBSTITUTIONS:
        text = text.replace(old, new.format(tmp=tmp, bundle=bundle))
    tasks = yaml.safe_load(text)
    assert isinstance(tasks, list) and tasks and all(t.get("name") for t in tasks), name
    return tasks


def test_every_filter_example_runs(simulator, tmp_path):
    simulator.load(FLEET)
    bundle = simulator.control("GET", "/_sim/bundle")["path"]
    tmp = str(tmp_path)
    settings = {"rdsca_regions": ["us-east-1"], "rdsca_target_ca": TARGET, "rdsca_report_dir": tmp + "/reports",
                "rdsca_verify": "none", "rdsca_client_verify": False, "rdsca_ssl_usage": True, "test_dir": tmp}
    prelude = [
        {"name": "Resolve the settings", "ansible.builtin.import_tasks": REPO + "/playbooks/tasks/settings.yml"},
        {"name": "Set the run", "ansible.builtin.set_fact": {"rdsca_kind": "audit", "rdsca_client_hosts": []}},
        {"name": "Discover", "ansible.builtin.import_tasks": REPO + "/playbooks/tasks/discover.yml"},
        {"name": "Pre-flight", "ansible.builtin.import_tasks": REPO + "/playbooks/tasks/preflight.yml"},
        {"name": "A real bundle", "rdsca.rotation.rds_ca_bundle": {"src": bundle}, "register": "test_bundle"},
        {"name": "A real rotation plan", "rdsca.rotation.rds_ca_rotate": {
            "databases": ["us-east-1/app-staging"], "target_ca": TARGET, "allow_restart": True},
         "check_mode": True, "register": "test_rotation"},
    ]
    order = ORDER + [f for f in FILTERS if f not in ORDER]
    blocks = [{"name": "EXAMPLES of %s" % name, "block": example_tasks(name, tmp, bundle),
               "vars": VARIABLES.get(name, {})} for name in order]
    plays = [{"name": "filter EXAMPLES", "hosts": "localhost", "gather_facts": False, "tasks": prelude + blocks,
              "save": ["report", "rollback", "rollback_checked", "record", "batches", "coverage", "targets",
                       "rdsca_client_endpoints", "usage", "numbers", "dbs", "staging"]}]
    result = simulator.run_playbook(plays, extra_vars=settings)
    output = result.stdout[-6000:] + result.stderr[-3000:]
    assert result.rc == 0, output

    # every example task ran (ok or changed) - none skipped, none missing
    ran = []
    for section in re.split(r"^(?=TASK \[)", result.stdout, flags=re.M):
        title = re.match(r"^TASK \[(.*?)\] \*", section)
        if title and re.search(r"^(ok|changed): \[localhost", section, re.M):
            ran.append(title.group(1))
    for name in FILTERS:
        for task in yaml.safe_load(examples(name)):
            literal = task["name"].split("{{")[0]  # a templated name: its text before the first expression
            assert any(r == task["name"] or ("{{" in task["name"] and r.startswith(literal)) for r in ran), \
                "%s: example task %r did not run\n%s" % (name, task["name"], output)

    # and did what it says
    saved = result.results
    assert saved["report"]["kind"] == "audit" and len(saved["report"]["databases"]) == 3
    for suffix in ("report.html", "report.md"):
        with open(os.path.join(tmp, suffix), encoding="utf-8") as handle:
            assert "app-staging" in handle.read(), suffix
    assert saved["rollback_checked"] and not saved["rollback_checked"][0]["found"]  # us-east-1/orders-prod: none here
    batches = [[db["label"] for db in batch] for batch in saved["batches"]]
    assert sorted(sum(batches, [])) == ["us-east-1/app-prod", "us-east-1/done-prod"] and max(map(len, batches)) == 1
    assert saved["coverage"]["summary"]["unmanaged_tls"] == 0
    assert [t["label"] for t in saved["targets"]] == ["us-east-1/done-prod"]
    assert [e["name"] for e in saved["rdsca_client_endpoints"]] == ["us-east-1/done-prod"]
    assert len(saved["usage"]["databases"]) == 3 and saved["usage"]["slices"] == 1
    assert saved["numbers"]["problems"] == []
    labels = sorted(db["label"] for db in saved["dbs"])
    assert labels == ["us-east-1/app-prod", "us-east-1/app-staging", "us-east-1/done-prod"]
    assert os.path.isfile(os.path.join(tmp, "app", "rds-bundle.pem"))
    # inventory_result: the records of a summary-mode inventory, read back from its file (issue 20)
    assert saved["staging"] == ["app-staging"] and os.path.isfile(os.path.join(tmp, "rdsca", "inventory.jsonl"))
