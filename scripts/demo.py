"""`make demo` (`python scripts/demo.py`): playbooks/audit.yml, then the collection's main job, playbooks/rotate.yml, against the demo fleet.

The demo estate (tests/fleets/demo.yml) has two regions, staging and production, an Aurora
cluster, a Multi-AZ DB cluster, an engine version that cannot rotate without a restart, and
databases backed by real TLS PostgreSQL/MariaDB servers. While the playbook runs, two
applications keep TLS sessions open on those servers (the SSL usage evidence, read from the
connection logs without a database login), and one client
host, ``demo-app``, is managed by the ca_trust role: it is this machine, reached with the local
connection, but the role only writes files under the demo directory (an application bundle
file and an environment file; the system trust store is off), and verifies the databases with
that bundle. Nothing outside the output directory changes on this machine. One more TLS client,
``bi-dashboard``, connects from 127.0.0.2, an address no inventory host has: nothing manages its trust
store, and the audit and the rotation's pre-flight list it under "Clients nobody manages" (issue 18).

``RDSCA_DEMO_SCENARIO=staging-fails make demo`` shows the staging gate stopping a rotation: the
client keeps verifying with a stale CA file of its own, so staging does not verify and no
production database is touched.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
from typing import Any, Iterator

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from tests.simulator.client_address import SourceAddressRelay  # noqa: E402  pylint: disable=wrong-import-position
from tests.simulator.pki import CA_2019, CA_IDENTIFIERS  # noqa: E402  pylint: disable=wrong-import-position
from tests.simulator.server import SIM_ACCESS_KEY, SIM_SECRET_KEY, Simulator  # noqa: E402  pylint: disable=wrong-import-position
DEMO_FLEET = os.path.join(REPO, "tests", "fleets", "demo.yml")
MAIN_PLAYBOOK = os.path.join(REPO, "playbooks", "rotate.yml")
AUDIT_PLAYBOOK = os.path.join(REPO, "playbooks", "audit.yml")
CLIENT_HOST = "demo-app"
CLIENT_ADDRESS = "127.0.0.1"
# The databases the demo client connects to: those backed by real servers.
CLIENT_DATABASES = ["orders-staging", "orders-prod", "orders-prod-replica", "catalog-staging", "payments-staging"]
# Applications with TLS sessions open during the run (database id -> application name).
SSL_APPLICATIONS = {"orders-prod": "orders-api", "orders-staging": "orders-api-staging",
                    "catalog-staging": "catalog-api-staging"}
# A TLS client on a host nobody manages (database id, application, address): no inventory host has that address,
# so nothing will update its trust store - the audit and the rotation's pre-flight list it ("Clients nobody manages").
UNMANAGED_APPLICATION = ("orders-staging", "bi-dashboard", "127.0.0.2")


def bundle_fingerprints(path: str) -> list[str]:
    """SHA-256 of every certificate of a PEM file (what the collection pins)."""
    with open(path, "rb") as handle:
        pem = handle.read()
    return [hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
            for cert in x509.load_pem_x509_certificates(pem)]


def playbook_env(endpoint_url: str, pins: list[str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": SIM_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SIM_SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        # botocore sends every AWS call to the simulator; nothing can reach a real account.
        "AWS_ENDPOINT_URL": endpoint_url,
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".build", "collections"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_PIPELINING": "1",
    })
    # The simulator's CAs carry RDS names with keys of its own: the demo pins exactly those keys (the collection
    # trusts keys, not names; an RDS-named certificate with any other key is still refused).
    if pins:
        env["RDSCA_PINNED_RDS_CAS"] = ",".join(pins)
    return env


def demo_inventory(output_dir: str, client_ca_file: str | None = None,
                   databases: list[str] | None = None) -> str:
    """The controller and one client host whose trust stores are files under the demo directory.

    The client connects to ``databases`` (CLIENT_DATABASES by default) and verifies them with the
    bundle file the ca_trust role writes, or with ``client_ca_file`` (a file the role does not manage).
    """
    client_dir = os.path.join(output_dir, CLIENT_HOST)
    bundle_file = os.path.join(client_dir, "etc", "rds", "rds-ca-bundle.pem")
    inventory = {"all": {
        "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}},
        "children": {"rds_clients": {"hosts": {CLIENT_HOST: {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "ansible_become": False,
            # Never this machine's system trust store: only the application files below.
            "ca_trust_system_store": False,
            "ca_trust_bundle_files": [{"path": bundle_file, "mode": "0644"}],
            "ca_trust_env_files": [{"path": os.path.join(client_dir, "etc", "profile.d", "rds-ca.sh"),
                                    "bundle": bundle_file}],
            # The application verifies the databases with that bundle (libpq sslrootcert, a JDBC truststore...).
            "rdsca_client_ca_file": client_ca_file or bundle_file,
            "rdsca_client_databases": databases or CLIENT_DATABASES,
            # The address the databases see this host connect from (it is this machine): its clients are managed.
            "rdsca_client_addresses": [CLIENT_ADDRESS],
        }}}},
    }}
    # The directories a real host already has (the role creates only the bundle file's own).
    os.makedirs(os.path.join(client_dir, "etc", "profile.d"), exist_ok=True)
    path = os.path.join(output_dir, "demo-inventory.yml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("# Written by `make demo` (scripts/demo.py).\n")
        yaml.safe_dump(inventory, handle, sort_keys=False)
    return path


def demo_extra_vars(regions: list[str], output_dir: str, bundle: str, admin_password: str | None = None,
                    linked_ids: list[str] | None = None) -> dict[str, Any]:
    """The demo's settings. ``admin_password``: list sessions with that login (the tests); without it, read the
    connection logs (the demo). ``linked_ids``: the only databases whose TLS use is inspected."""
    extra_vars: dict[str, Any] = {
        "rdsca_regions": regions,
        "rdsca_target_ca": "rds-ca-rsa2048-g1",
        "rdsca_report_dir": output_dir,
        # The simulator's "global bundle": its local CAs stand for AWS's.
        "rdsca_ca_bundle": bundle,
        # Linked servers listen on 127.0.0.1; TLS still verifies the RDS endpoint name.
        "rdsca_connect_host": "127.0.0.1",
        "rdsca_poll_interval": 1,
        "rdsca_verify_grace_period": 30,
        "rdsca_max_concurrent": 5,
    }
    if admin_password:
        # Session sampling (the integration tests): the servers still present certificates of the expired
        # rds-ca-2019, so a verifying login cannot work before the rotation: the login is plaintext (on
        # 127.0.0.1, warned about by rds_ssl_usage), and refused by orders-prod, which enforces TLS.
        extra_vars.update(rdsca_ssl_usage_login_user="admin", rdsca_ssl_usage_login_password=admin_password,
                          rdsca_ssl_usage_ssl_mode="disable", rdsca_ssl_usage_sample_seconds=2,
                          rdsca_ssl_usage_sample_interval=0.5)
    else:
        # `make demo`: the SSL usage evidence comes from the connection logs (log_connections is on in the demo
        # fleet's parameter groups), read through the RDS API without any login (issue 19: no plaintext login,
        # so no warning the demo causes itself).
        # Read through the RDS API (DescribeDBLogFiles, DownloadDBLogFilePortion; issue 18); the databases that do
        # not log their connections are reported with incomplete evidence, never as "no TLS".
        extra_vars["rdsca_ssl_usage_log_window_days"] = 1
        extra_vars["rdsca_ssl_usage_log_source"] = "rds"
    if linked_ids:
        # Only the databases backed by a server: the others have no endpoint to probe.
        extra_vars["rdsca_ssl_usage_databases"] = linked_ids
    return extra_vars


def _unmanaged_session(linked: dict[str, dict[str, Any]], stack: contextlib.ExitStack) -> tuple[Any, str] | None:
    """The TLS session of UNMANAGED_APPLICATION, from its address (through a relay bound to it)."""
    identifier, app, address = UNMANAGED_APPLICATION
    info = next((i for i in linked.values() if i["id"] == identifier and i["engine"] == "postgres"), None)
    if info is None:
        return None
    import psycopg2  # pylint: disable=import-outside-toplevel

    relay = stack.enter_context(SourceAddressRelay(info["host"], info["port"], source=address))
    conn = psycopg2.connect(host=info["address"], hostaddr="127.0.0.1", port=relay.port, user=info["admin_user"],
                            password=info["admin_password"], dbname="postgres", application_name=app,
                            sslmode="require", connect_timeout=5)
    return conn, f"{app} -> {identifier} from {address} (a host nobody manages)"


@contextlib.contextmanager
def ssl_applications(linked: dict[str, dict[str, Any]]) -> Iterator[list[str]]:
    """Hold TLS sessions open on the linked servers, like applications do (encrypted, not verifying); one of them
    from an address no inventory host has (UNMANAGED_APPLICATION)."""
    opened: list[Any] = []
    names: list[str] = []
    stack = contextlib.ExitStack()
    try:
        for info in linked.values():
            app = SSL_APPLICATIONS.get(info["id"])
            if not app:
                continue
            try:
                if info["engine"] == "postgres":
                    import psycopg2  # pylint: disable=import-outside-toplevel

                    opened.append(psycopg2.connect(
                        host=info["address"], hostaddr=info["host"], port=info["port"], user=info["admin_user"],
                        password=info["admin_password"], dbname="postgres", application_name=app,
                        sslmode="require", connect_timeout=5))
                else:
                    import pymysql  # pylint: disable=import-outside-toplevel

                    context = ssl.create_default_context()
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                    opened.append(pymysql.connect(
                        host=info["host"], port=info["port"], user=info["admin_user"],
                        password=info["admin_password"], program_name=app, ssl=context, connect_timeout=5))
                names.append(f"{app} -> {info['id']}")
            except Exception as exc:  # pylint: disable=broad-except
                print(f"demo: could not open the {app} TLS session ({exc}); continuing without it", flush=True)
        try:
            unmanaged = _unmanaged_session(linked, stack)
            if unmanaged:
                opened.append(unmanaged[0])
                names.append(unmanaged[1])
        except Exception as exc:  # pylint: disable=broad-except
            print(f"demo: could not open the {UNMANAGED_APPLICATION[1]} TLS session ({exc}); continuing without it", flush=True)
        yield names
    finally:
        for conn in opened:
            with contextlib.suppress(Exception):
                conn.close()
        stack.close()


def latest_report(output_dir: str, since: float, kind: str = "rotate") -> str | None:
    reports = [p for p in glob.glob(os.path.join(output_dir, kind + "-*.json")) if os.path.getmtime(p) >= since - 1]
    return max(reports, key=os.path.getmtime) if reports else None


def summary_lines(report: dict[str, Any]) -> list[str]:
    """A short, human summary of a rotate report: what changed, what was avoided, what the gate did."""
    s = report["summary"]
    lines = [f"{report['kind']} {report['outcome'].replace('_', ' ')} in {report['duration_seconds']}s: "
             f"{s['in_scope']} databases in scope, "
             + ", ".join(f"{status.replace('_', ' ')} {n}" for status, n in sorted(s["by_status"].items()))]
    lines.append(f"on {report['target_ca']} after the run: {s['on_target_after']} of {s['in_scope']}")
    rows = {row["label"]: row for row in report["databases"]}
    for label in s["restarts_avoided"]:
        row = rows[label]
        lines.append(f"restart avoided: {label} ({row['engine']} {row['engine_version']}) - {row['reason']}")
    if s["restarted"]:
        lines.append("restarted: " + ", ".join(s["restarted"]))
    gate = report.get("gate")
    if gate:
        lines.append("staging gate: " + ("PASSED" if gate["passed"] else "FAILED") + " - "
                     + "; ".join(f"{c['check']}: {'ok' if c['ok'] else 'FAIL'} ({c['detail']})" for c in gate["checks"]))
        steps = {step["name"]: step for step in report["steps"]}
        production = steps.get("production rotation")
        if production:
            lines.append(f"production started at {production['started_at']}, after the gate "
                         f"(staging rotation {steps['staging rotation']['started_at']}, "
                         f"{steps['staging rotation']['seconds']}s)")
        else:
            touched = [r["label"] for r in report["databases"] if r["phase"] == "production"
                       and r["before"]["ca"] != r["after"]["ca"]]
            lines.append("production not started; production databases changed: " + (", ".join(touched) or "none"))
    coverage = report.get("client_coverage")
    if coverage:
        lines.append("TLS clients nobody manages: " + (", ".join(
            f"{c['address']} ({', '.join(c['applications']) or '-'} on {', '.join(c['databases'])})"
            for c in coverage["unmanaged_tls_clients"]) or "none") + "; managed hosts never seen: "
            + (", ".join(coverage["never_seen_hosts"]) or "none"))
    for client in report["clients"]:
        lines.append(f"client {client['host']}: lacked {', '.join(client['lacked']) or 'nothing'}, "
                     f"fixed {', '.join(client['fixed']) or 'nothing'}; verified {len(client['verified'])} database(s)"
                     + (f"; FAILED {'; '.join(client['verify_failed'])}" if client["verify_failed"] else ""))
    for region in report["regions"]:
        if region["changed"]:
            lines.append(f"default CA for new launches in {region['region']}: "
                         f"{region['default_before']} -> {region['default_after']}")
    for failure in report["failures"]:
        lines.append(f"failure: {failure['what']} {failure['label']}: {failure['reason']}")
    return lines


def log_evidence_lines(report: dict[str, Any]) -> list[str]:
    """The audit's connection-log evidence (issue 18): each database whose logs are complete over the window, with its
    verdict, then how many could not be proven by their logs, with the first one's reason."""
    rows = [row for row in report["databases"] if (row.get("ssl") or {}).get("logs")]
    lines = []
    for row in rows:
        logs = row["ssl"]["logs"]
        if logs["complete"]:
            lines.append(f"{row['label']}: SSL/TLS in use {row['ssl']['in_use']} - logs, {logs['window_days']} day(s) "
                         f"({logs['from']} to {logs['to']}): complete, {logs['tls_clients']} TLS client(s), "
                         f"{logs['plaintext_clients']} plaintext")
    partial = [row for row in rows if not row["ssl"]["logs"]["complete"]]
    if partial:
        lines.append(f"logs incomplete or unavailable on {len(partial)} database(s), never read as 'no TLS' "
                     f"(e.g. {partial[0]['label']}: {partial[0]['ssl']['logs']['reason']})")
    return lines


def run_demo(args: argparse.Namespace) -> int:
    output_dir = os.path.abspath(args.output_dir)
    os.makedirs(output_dir, exist_ok=True)
    # A clean demo directory: earlier reports, the client's files and inventory go.
    for stale in (glob.glob(os.path.join(output_dir, "rotate-*")) + glob.glob(os.path.join(output_dir, "audit-*"))
                  + glob.glob(os.path.join(output_dir, "inventory.*"))):
        os.remove(stale)
    shutil.rmtree(os.path.join(output_dir, CLIENT_HOST), ignore_errors=True)
    scenario = os.environ.get("RDSCA_DEMO_SCENARIO", "")
    started = time.time()
    sim = Simulator()
    proc = None
    try:
        fleet = sim.load(DEMO_FLEET)
        url = sim.start()
        linked = sim.linker.describe() if sim.linker else {}
        print(f"demo: simulator on {url} with {len(fleet.instances)} instances in {', '.join(fleet.regions)}"
              f" ({len(linked)} backed by real TLS servers)", flush=True)
        bundle = os.path.join(sim.state_dir, "sim-bundle.pem")
        # Like AWS's global-bundle.pem today: the current CAs only (the expired rds-ca-2019 root is no longer in it,
        # and rds_ca_bundle would warn that it dropped it).
        sim.linker.pki.write_bundle(bundle, regions=fleet.regions,
                                    ca_identifiers=[ca for ca in CA_IDENTIFIERS if ca != CA_2019])
        stale_ca_file = None
        if scenario == "staging-fails":
            # The application keeps a CA file of its own that holds only the old CA: it will not verify staging.
            stale_ca_file = os.path.join(output_dir, CLIENT_HOST, "opt", "app", "pinned-ca.pem")
            sim.linker.pki.write_bundle(stale_ca_file, regions=fleet.regions, ca_identifiers=["rds-ca-2019"])
            print("demo: scenario staging-fails - demo-app verifies with a stale CA file of its own", flush=True)
        inventory = demo_inventory(output_dir, stale_ca_file)
        extra_vars = demo_extra_vars(fleet.regions, output_dir, bundle, linked_ids=sorted(set(i["id"] for i in linked.values())))
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
               MAIN_PLAYBOOK, "-e", "@" + _write_vars(output_dir, extra_vars)]
        with ssl_applications(linked) as sessions:
            if sessions:
                print("demo: TLS sessions open: " + ", ".join(sessions), flush=True)
            # First the read-only audit: what a rotation would meet, and the TLS clients nobody manages.
            print(f"demo: ansible-playbook -i {os.path.relpath(inventory, REPO)} {os.path.relpath(AUDIT_PLAYBOOK, REPO)} "
                  f"-e @{os.path.relpath(output_dir, REPO)}/demo-vars.json", flush=True)
            audit = subprocess.run(cmd[:3] + [AUDIT_PLAYBOOK] + cmd[4:], env=playbook_env(url, bundle_fingerprints(bundle)), cwd=REPO, check=False)
            audit_path = latest_report(output_dir, started, "audit")
            if audit.returncode or audit_path is None:
                print(f"demo: the audit failed (exit {audit.returncode}); rotating anyway shows why", flush=True)
            else:
                with open(audit_path, encoding="utf-8") as handle:
                    audited = json.load(handle)
                print(f"demo: audit report {audit_path[:-len('.json')]}.html", flush=True)
                for line in (summary_lines(audited)[:1] + log_evidence_lines(audited)
                             + [x for x in summary_lines(audited) if "nobody manages" in x]):
                    print(f"demo: audit: {line}", flush=True)
            print(f"demo: ansible-playbook -i {os.path.relpath(inventory, REPO)} "
                  f"{os.path.relpath(MAIN_PLAYBOOK, REPO)} -e @{os.path.relpath(output_dir, REPO)}/demo-vars.json",
                  flush=True)
            proc = subprocess.run(cmd, env=playbook_env(url, bundle_fingerprints(bundle)), cwd=REPO, check=False)
    finally:
        sim.stop()
    elapsed = time.time() - started
    report_path = latest_report(output_dir, started)
    print()
    if report_path is None:
        print(f"demo: the playbook failed (exit {proc.returncode if proc else '?'}) after {elapsed:.0f}s "
              "without writing a report", file=sys.stderr)
        return proc.returncode if proc and proc.returncode else 1
    with open(report_path, encoding="utf-8") as handle:
        report = json.load(handle)
    base = report_path[:-len(".json")]
    print(f"demo: report {base}.html (also {os.path.basename(base)}.md and .json)")
    for line in summary_lines(report):
        print(f"demo: {line}")
    print(f"demo: done in {elapsed:.0f}s (playbook exit {proc.returncode})")
    if scenario == "staging-fails":
        # The stop is what this scenario shows: it succeeds when the gate held production back.
        untouched = all(r["before"]["ca"] == r["after"]["ca"] for r in report["databases"] if r["phase"] == "production")
        return 0 if report["outcome"] == "stopped" and untouched else 1
    return proc.returncode


def _write_vars(output_dir: str, extra_vars: dict[str, Any]) -> str:
    path = os.path.join(output_dir, "demo-vars.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(extra_vars, handle, indent=2)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/demo.py", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output-dir", default="demo-output", help="reports, inventory and the client's files")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", SIM_ACCESS_KEY)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", SIM_SECRET_KEY)
    return run_demo(args)


if __name__ == "__main__":
    sys.exit(main())
