"""No password, secret key or session token in anything a full run leaves behind.

A full run: playbooks/audit.yml then playbooks/rotate.yml on an estate of real PostgreSQL and
MariaDB servers and one client host, at -vvv (module arguments and every module result are
printed), with ANSIBLE_LOG_PATH set, the database password given the way a vault gives it
(`-e @file`), and AWS credentials with a session token in the environment; then each module on
its own, its registered results kept. Everything is collected - stdout, stderr, the ansible log,
every report file (JSON, Markdown, HTML) and every file the run wrote for the client, the
registered results - and none of the secrets may appear in any of it.

The run must really have used the secrets (sessions were listed with the password, AWS calls
were signed), or the test would prove nothing.
"""

from __future__ import annotations

import json
import os
import secrets
from typing import Any

import pytest

from tests.integration.conftest import REPO
from scripts.demo import demo_extra_vars, demo_inventory
from tests.simulator.linked import tools_available
from tests.simulator.server import SIM_ACCESS_KEY, SIM_SECRET_KEY

PLAYBOOKS = os.path.join(REPO, "playbooks")
REGION = "us-east-1"
OLD = "rds-ca-2019"
TARGET = "rds-ca-rsa2048-g1"
RSA4096 = "rds-ca-rsa4096-g1"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjENoSecrets" + secrets.token_urlsafe(32)

FLEET = {
    "description": "no secrets: staging and production on real servers",
    "timing": {"modify_seconds": 0.3, "reboot_seconds": 0.3},
    "regions": {REGION: {
        "default_ca": TARGET,
        "customer_override": RSA4096,
        "instances": [
            {"id": "shop-staging", "engine": "postgres", "engine_version": "16.3", "ca": RSA4096,
             "tags": {"Environment": "staging"}, "linked": "postgres"},
            {"id": "shop-prod", "engine": "mariadb", "engine_version": "10.11.8", "ca": RSA4096,
             "tags": {"Environment": "production"}, "linked": "mariadb"},
            {"id": "shop-prod-mysql", "engine": "mysql", "engine_version": "8.0.36", "ca": RSA4096,
             "tags": {"Environment": "production"}},
        ],
    }},
}


def files_under(directory: str) -> dict[str, str]:
    found = {}
    for root, _dirs, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, encoding="utf-8", errors="replace") as handle:
                found[path] = handle.read()
    return found


@pytest.fixture(scope="module")
def full_run(simulator, tmp_path_factory) -> dict[str, Any]:
    for engine in ("postgres", "mariadb"):
        ok, why = tools_available(engine)
        if not ok:
            pytest.skip("linked %s servers unavailable: %s" % (engine, why))
    simulator.load(FLEET)
    tmp = tmp_path_factory.mktemp("no-secrets")
    linked = simulator.control("GET", "/_sim/linked")
    password = next(iter(linked.values()))["admin_password"]
    bundle = simulator.control("GET", "/_sim/bundle")["path"]
    report_dir = str(tmp / "reports")
    log_path = str(tmp / "ansible.log")
    inventory = demo_inventory(str(tmp), None, ["shop-staging", "shop-prod"])
    variables = demo_extra_vars(simulator.sim.fleet.regions, report_dir, bundle, password)
    # The password comes from a file, like a decrypted vault; the login is verify-full TLS.
    variables.update(rdsca_ssl_usage_ssl_mode="verify-full", rdsca_ssl_usage_sample_seconds=1,
                     rdsca_ssl_usage_sample_interval=0.5, rdsca_poll_interval=0.2)
    vault = tmp / "vault.json"
    vault.write_text(json.dumps({"rdsca_ssl_usage_login_password": variables.pop("rdsca_ssl_usage_login_password"),
                                 "vault_db_password": password}))
    original_env = simulator.env
    simulator.env = lambda: dict(original_env(), AWS_SESSION_TOKEN=SESSION_TOKEN, ANSIBLE_LOG_PATH=log_path)
    try:
        args = ["-vvv", "-i", inventory, "-e", "@" + str(vault)]
        audit = simulator.run_playbook(os.path.join(PLAYBOOKS, "audit.yml"), extra_vars=variables, extra_args=args)
        rotate = simulator.run_playbook(os.path.join(PLAYBOOKS, "rotate.yml"), extra_vars=variables, extra_args=args)
        modules = simulator.run_playbook([{
            "hosts": "localhost", "gather_facts": False,
            "module_defaults": {"group/rdsca.rotation.rds_ca": {"endpoint_url": "{{ sim_endpoint_url }}",
                                                                "region": REGION}},
            "tasks": [
                {"name": "usage", "register": "usage", "rdsca.rotation.rds_ssl_usage": {
                    "databases": [{"identifier": "shop-staging"}, {"identifier": "shop-prod"}],
                    "connect_host": "127.0.0.1", "ca_cert": bundle, "login_user": "admin",
                    "login_password": "{{ vault_db_password }}", "sample_seconds": 1, "sample_interval": 0.5}},
                # The AWS keys given as module options (no_log in amazon.aws), a session token too.
                {"name": "facts", "register": "facts", "rdsca.rotation.rds_ca_facts": {
                    "regions": [REGION], "access_key": SIM_ACCESS_KEY, "secret_key": "{{ lookup('env', 'AWS_SECRET_ACCESS_KEY') }}",
                    "session_token": "{{ lookup('env', 'AWS_SESSION_TOKEN') }}"}},
                {"name": "plan", "register": "plan", "check_mode": True, "rdsca.rotation.rds_ca_rotate": {
                    "databases": ["shop-prod-mysql"], "target_ca": RSA4096}},
            ],
            "save": ["usage", "facts", "plan"],
        }], extra_args=["-vvv", "-e", "@" + str(vault)])
    finally:
        del simulator.env
    return {"audit": audit, "rotate": rotate, "modules": modules, "password": password, "report_dir": report_dir,
            "log_path": log_path, "client_dir": str(tmp / "demo-app")}


def test_the_run_used_the_secrets(full_run):
    audit, rotate, modules = full_run["audit"], full_run["rotate"], full_run["modules"]
    assert audit.rc == 0, audit.stdout[-5000:]
    assert rotate.rc == 0, rotate.stdout[-5000:]
    assert modules.rc == 0, modules.stdout[-5000:]
    # Sessions were listed with the password (over verified TLS), and the AWS calls went through.
    usage = dict((d["identifier"], d) for d in modules.task("usage")["databases"])
    assert all(d["usage"]["available"] is True and d["error"] is None for d in usage.values()), usage
    assert modules.task("facts")["summary"]["databases"] == 3
    reports = [json.loads(text) for path, text in files_under(full_run["report_dir"]).items()
               if path.endswith(".json") and os.path.basename(path).startswith(("audit-", "rotate-"))]
    assert sorted(r["kind"] for r in reports) == ["audit", "rotate"]
    rotated = next(r for r in reports if r["kind"] == "rotate")
    assert rotated["outcome"] == "completed", rotated.get("failures")
    audited = dict((row["label"], row) for row in next(r for r in reports if r["kind"] == "audit")["databases"])
    for label in ("us-east-1/shop-staging", "us-east-1/shop-prod"):  # logged in: a verdict over a sampled window
        assert audited[label]["ssl"]["in_use"] in ("yes", "no"), audited[label]["ssl"]
    # -vvv printed the module arguments, with the password masked.
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in audit.stdout
    assert os.path.getsize(full_run["log_path"]) > 10000


def test_no_secret_in_any_output_log_or_report(full_run):
    collected = {
        "audit stdout": full_run["audit"].stdout, "audit stderr": full_run["audit"].stderr,
        "rotate stdout": full_run["rotate"].stdout, "rotate stderr": full_run["rotate"].stderr,
        "modules stdout": full_run["modules"].stdout, "modules stderr": full_run["modules"].stderr,
        "registered results": json.dumps(full_run["modules"].results),
    }
    collected.update(files_under(full_run["report_dir"]))
    collected.update(files_under(full_run["client_dir"]))
    with open(full_run["log_path"], encoding="utf-8", errors="replace") as handle:
        collected["ansible log"] = handle.read()
    assert any(path.endswith(".html") for path in collected) and any(path.endswith(".md") for path in collected)
    found = []
    for name, secret in (("database password", full_run["password"]), ("AWS secret key", SIM_SECRET_KEY),
                         ("session token", SESSION_TOKEN)):
        for where, text in collected.items():
            if secret in text:
                found.append("%s in %s" % (name, where))
    assert found == []
    # Nor any request signature (a signed request would carry the access key's credential scope).
    for where, text in collected.items():
        assert "X-Amz-Signature" not in text and "X-Amz-Security-Token" not in text, where
