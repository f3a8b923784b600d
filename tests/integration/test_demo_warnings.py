"""Issue 19 (a newcomer's first run): the demo shows no warning it caused itself, and a rollback prints none.

`make demo` runs here for real (its own simulator, linked TLS servers, the ca_trust role on a local client) and every
`[WARNING]` line of its output must match an entry of ALLOWED, each of which says why the demo cannot avoid it
without hiding a safety message of the collection. Fixed causes (each once made a warning here):

- the demo's "global bundle" held the expired rds-ca-2019 root, so rds_ca_bundle warned that it dropped it (AWS's
  global-bundle.pem no longer holds it): the demo now writes the current CAs only;
- rollback looped over `groupby` results, which ansible-core 2.19 warns it cannot store ("Type 'GroupTuple' is
  unsupported"): the groups are lists now;
- the simulator's CAs carry RDS names with keys of their own, and the demo accepted any such key
  (RDSCA_ALLOW_UNPINNED_RDS_CAS), which the collection rightly warns about: the demo now pins exactly the
  simulator's keys (RDSCA_PINNED_RDS_CAS, the modules' pinned_rds_cas), as AWS's are pinned;
- "ssl_mode=disable: the module's database connections are NOT encrypted": the demo listed sessions with a
  plaintext login (its servers present the expired rds-ca-2019 chain, which no verifying login accepts); it now
  reads the connection logs through the RDS API, with no login at all;
- "14 of 14 database(s) could not be fully inspected": nine demo databases have no server behind their endpoint
  (the demo now inspects only those that have one, rdsca_ssl_usage_databases), and rds_ssl_usage counted a
  database still on the expired rds-ca-2019 as not inspected although its probe saw everything (now a finding,
  tls_verification failed with a note; test_ssl_usage.py).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from typing import Any

import pytest

from tests.integration.conftest import _ensure_collection_link

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# (pattern of the warning, why the demo cannot avoid it): none is left (issue 19: "a demo shows no warnings it
# caused itself"); a warning the demo meets must be fixed at its cause, or explained here.
ALLOWED: list[tuple[str, str]] = []


def _demo_command(output_dir: str) -> list[str]:
    """The demo command of the Makefile's `demo` target (its last recipe line), with this Python."""
    with open(os.path.join(REPO, "Makefile"), encoding="utf-8") as handle:
        makefile = handle.read()
    recipe = re.search(r"^demo:[^\n]*\n((?:\t[^\n]*\n)+)", makefile, re.M).group(1).strip().splitlines()[-1].strip()
    words = shlex.split(recipe)
    assert words[0] == "$(BIN)/python", recipe
    return [sys.executable] + words[1:] + ["--output-dir", output_dir]


def warning_lines(output: str) -> list[str]:
    return [line[len("[WARNING]: "):] for line in output.splitlines() if line.startswith("[WARNING]: ")]


def unexplained(warnings: list[str]) -> list[str]:
    return [w for w in warnings if not any(re.search(pattern, w) for pattern, _why in ALLOWED)]


def test_the_allow_list_is_explained_and_catches_the_warnings_once_printed():
    assert all(len(why) > 80 for _pattern, why in ALLOWED)
    fixed = ["1 expired certificate(s) dropped: Amazon RDS Root 2019 CA",
             "Type 'GroupTuple' is unsupported in variable storage, converting to 'list'.",
             "25 certificate(s) with an Amazon RDS name are NOT among AWS's pinned RDS CA certificates and were accepted "
             "only because allow_unpinned_rds_cas is set: Amazon RDS us-east-1 Root CA RSA2048 G1 (SHA-256 0a1b)",
             "ca_cert /tmp/b.pem: 25 certificate(s) with an Amazon RDS name are not among AWS's pinned RDS CA "
             "certificates and are trusted for verification only because allow_unpinned_rds_cas is set: x",
             "ssl_mode=disable: the module's database connections are NOT encrypted and the server is NOT "
             "authenticated; login_password and the session list travel in clear.",
             "14 of 14 database(s) could not be fully inspected: ledger-maz-instance-1 (eu-west-1): probe: cannot "
             "connect to 127.0.0.1:5432: Connection refused"]
    assert unexplained(fixed) == fixed


def test_the_demo_shows_no_warning_it_caused_itself(tmp_path):
    _ensure_collection_link()  # what `make demo` makes first (collection-link)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
    proc = subprocess.run(_demo_command(str(tmp_path / "demo")), capture_output=True, text=True, cwd=REPO, env=env,
                          check=False, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    assert "demo: done in" in output and "rotate completed" in output, output[-3000:]
    # Issue 18: the demo's TLS client on a host nobody manages is in the audit report (and the rotation's).
    assert "demo: audit: TLS clients nobody manages: 127.0.0.2 (bi-dashboard on us-east-1/orders-staging)" in output, output[-3000:]
    # Issue 18: the audit reads a day of orders-staging's connection log (log_connections=1 in its parameter group) through
    # the RDS API; its verdict shows the window and that it is complete, and bi-dashboard is found in those logs.
    logged = [line for line in output.splitlines() if line.startswith("demo: audit: us-east-1/orders-staging: ")]
    assert logged and "SSL/TLS in use yes - logs, 1 day(s) (" in logged[0] and "): complete, " in logged[0], output[-3000:]
    # The databases whose parameter group keeps log_connections off are incomplete, never "no TLS".
    assert "demo: audit: logs incomplete or unavailable on " in output, output[-3000:]
    audit = _latest(str(tmp_path / "demo"), "audit")
    with open(audit, encoding="utf-8") as handle:
        report = json.load(handle)
    rows = {row["label"]: row for row in report["databases"]}
    staging = rows["us-east-1/orders-staging"]["ssl"]
    assert staging["in_use"] == "yes" and staging["logs"]["complete"] is True and staging["logs"]["window_days"] == 1
    assert staging["logs"]["tls_clients"] >= 2, staging  # orders-api-staging, bi-dashboard (and demo-app's checks)
    prod = rows["us-east-1/orders-prod"]["ssl"]["logs"]
    assert prod["complete"] is False and "log_connections is off" in prod["reason"], prod
    unmanaged = report["client_coverage"]["unmanaged_tls_clients"]
    assert [c["address"] for c in unmanaged] == ["127.0.0.2"] and "logs" in unmanaged[0]["sources"], unmanaged
    with open(audit[:-len("json")] + "md", encoding="utf-8") as handle:
        markdown = handle.read()
    assert "| us-east-1/orders-staging |" in markdown and ": complete, " in markdown
    warnings = warning_lines(output)
    assert unexplained(warnings) == [], unexplained(warnings)
    assert not [w for w in warnings if "expired certificate(s) dropped" in w]
    # The clients come from the connection logs now, with no login: the demo's TLS evidence is still there.
    assert "demo: audit: audit completed" in output, output[-3000:]


OLD, TARGET = "rds-ca-rsa4096-g1", "rds-ca-rsa2048-g1"
FLEET = {
    "description": "rollback warnings: one database on a CA that is still valid",
    "timing": {"modify_seconds": 0.2, "reboot_seconds": 0.2},
    "regions": {"us-east-1": {"default_ca": TARGET, "instances": [
        {"id": "warn-staging", "engine": "postgres", "engine_version": "16.3", "ca": OLD, "tags": {"Environment": "staging"}},
    ]}},
}


def _latest(directory: str, kind: str) -> str:
    found = sorted(p for p in os.listdir(directory) if p.startswith(kind + "-") and p.endswith(".json"))
    assert found, os.listdir(directory)
    return os.path.join(directory, found[-1])


def test_a_rollback_prints_no_warning(simulator, tmp_path):
    simulator.load(FLEET)
    settings: dict[str, Any] = {"rdsca_regions": ["us-east-1"], "rdsca_target_ca": TARGET,
                                "rdsca_report_dir": str(tmp_path / "reports"), "rdsca_verify": "none",
                                "rdsca_ssl_usage": False, "rdsca_poll_interval": 0.5, "rdsca_client_verify": False,
                                "rdsca_require_verified_staging": False, "rdsca_set_account_default": False}
    rotated = simulator.run_playbook("rdsca.rotation.rotate", extra_vars=settings)
    assert rotated.rc == 0, rotated.stdout[-3000:]
    report = _latest(settings["rdsca_report_dir"], "rotate")
    result = simulator.run_playbook("rdsca.rotation.rollback", extra_vars=dict(settings, rdsca_rollback_report=report))
    assert result.rc == 0, result.stdout[-4000:]
    with open(_latest(settings["rdsca_report_dir"], "rollback"), encoding="utf-8") as handle:
        rows = {row["label"]: row for row in json.load(handle)["databases"]}
    assert rows["us-east-1/warn-staging"]["after"]["ca"] == OLD, rows
    assert warning_lines(result.stdout + result.stderr) == [], warning_lines(result.stdout + result.stderr)


@pytest.mark.parametrize("line, expected", [("[WARNING]: x y", ["x y"]), ("ok: [localhost]", [])])
def test_warning_lines(line, expected):
    assert warning_lines(line) == expected
