"""Every module's EXAMPLES block runs, as written, against the simulator (issue 16).

Each module's EXAMPLES YAML is read from the module file (not imported), passed through a small explicit
substitution table (:data:`SUBSTITUTIONS`: only what must change to reach the simulator and temporary
directories - file paths, sampling times, a tunnel port, a pinned checksum), and run with the real
ansible-playbook, one play per module, in the order a reader follows them: rds_ca_facts registers
``inventory``, rds_ssl_usage ``usage``, the rotations use both, rds_ca_bundle ``rds_bundle``, which the
trust stores install.

What the examples presume from their surroundings, given by the test rather than written into them:

- the AWS connection: ``group/rdsca.rotation.rds_ca`` in ``module_defaults`` (``endpoint_url``, ``region``),
  with no ``AWS_ENDPOINT_URL`` in the environment, so the action group is what points the modules at the
  simulator; the variables ``rds_endpoint_url``, ``vault_monitor_password`` (the linked servers' admin
  password) and ``vault_truststore_password``;
- ``connect_host: 127.0.0.1`` for rds_ssl_usage and rds_ca_rotate (RDS endpoint names resolve in RDS's DNS
  only; the linked servers listen on 127.0.0.1), and ``poll_interval: 1`` for rds_ca_rotate;
- the download of AWS's bundle: an HTTPS proxy (``https_proxy``) that answers for
  ``truststore.pki.rds.amazonaws.com`` with the simulator's bundle, under a test CA trusted through
  ``SSL_CERT_FILE`` (which also holds the simulator's bundle: the client host trusts the RDS CAs, as the
  ca_trust role makes it); ``files/global-bundle.pem`` next to the playbook;
- the handler the Debian example notifies.

Every task must run without error, except the ones of :data:`EXPECTED_FAILURES` (each with its reason), and
each is checked to have done what its name says (:func:`check_facts` and the others).
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from typing import Any

import boto3
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import REPO, _ensure_collection_link
from tests.simulator.linked import tools_available
from tests.simulator.server import SIM_ACCESS_KEY, SIM_SECRET_KEY

for _engine in ("postgres", "mariadb"):
    _ok, _why = tools_available(_engine)
    if not _ok:
        pytestmark = pytest.mark.skip(reason=_why)

MODULES = ["rds_ca_facts", "rds_ssl_usage", "rds_ca_rotate", "rds_ca_bundle", "rds_ca_trust_store",
           "rds_ca_trust_verify"]
REGION = "us-east-1"
TARGET = "rds-ca-rsa2048-g1"
RSA4096 = "rds-ca-rsa4096-g1"
TRUSTSTORE_HOST = "truststore.pki.rds.amazonaws.com"
FAKE_CHECKSUM = "0d5c0b3a8f7e2fd0d0b2c5e5d5f9b7e6c1a0f0a1b2c3d4e5f60718293a4b5c6d"

# The estate the examples name: the identifiers, environments and engines they use.
FLEET = {
    "description": "test_examples: the databases the modules' EXAMPLES name",
    "timing": {"modify_seconds": 0.3, "reboot_seconds": 0.3},
    "regions": {
        "us-east-1": {
            "default_ca": TARGET,
            "instances": [
                # staging: a restart-free engine (rotated, verified) and one that would restart (skipped)
                {"id": "orders-staging", "engine": "postgres", "engine_version": "16.3", "ca": RSA4096,
                 "linked": "postgres", "tags": {"Environment": "staging"}},
                {"id": "billing-staging", "engine": "mariadb", "engine_version": "10.6.16", "ca": RSA4096,
                 "linked": "mariadb", "tags": {"Environment": "staging"}},
                {"id": "orders-prod", "engine": "postgres", "engine_version": "16.3", "ca": "rds-ca-2019",
                 "linked": "postgres", "tags": {"Environment": "production"}},
                # TLS not enforced (PostgreSQL 14) and no client: rds_ssl_usage proves it safe without a restart
                {"id": "reports-pg", "engine": "postgres", "engine_version": "14.10", "ca": RSA4096,
                 "linked": "postgres", "tags": {"Environment": "analytics"}},
                # RDS's ca-certificate-rotation maintenance action pending
                {"id": "legacy-pg", "engine": "postgres", "engine_version": "13.15", "ca": "rds-ca-2019",
                 "tags": {"Environment": "reporting"},
                 "maintenance": {"auto_applied_after": "2027-03-01", "forced_apply": "2027-04-15"}},
            ],
            "clusters": [
                {"id": "inventory-aurora", "engine": "aurora-postgresql", "engine_version": "15.4",
                 "tags": {"Environment": "production"},
                 "members": [{"id": "inventory-aurora-1", "writer": True, "ca": "rds-ca-2019"},
                             {"id": "inventory-aurora-2", "ca": "rds-ca-2019"}]},
            ],
        },
        "eu-west-1": {
            "default_ca": RSA4096,
            "instances": [
                {"id": "payments-prod", "engine": "postgres", "engine_version": "14.10", "ca": "rds-ca-2019",
                 "tags": {"Environment": "production"}},
                {"id": "orders-production", "engine": "postgres", "engine_version": "16.3", "ca": TARGET,
                 "linked": "postgres", "tags": {"Environment": "production"}},
            ],
        },
        "ap-southeast-2": {
            "instances": [{"id": "orders-apac", "engine": "postgres", "engine_version": "16.3",
                           "tags": {"Environment": "production"}}],
        },
        # The regional bundle example downloads eu-central-1's bundle: its roots must exist.
        "eu-central-1": {"instances": []},
    },
    # The accounts examples (issue 17): the caller's own account and another one, each with its roles.
    "accounts": {
        "123456789012": {"alias": "shop-staging", "roles": ["rdsca-audit", "rdsca-rotation"]},
        "210987654321": {"alias": "shop-prod", "roles": ["rdsca-audit", "rdsca-rotation"], "regions": {
            "us-east-1": {"default_ca": TARGET, "instances": [
                {"id": "orders-prod", "engine": "postgres", "engine_version": "16.3", "ca": "rds-ca-2019",
                 "tags": {"Environment": "production"}}]}}},
    },
}

# module: [(text in its EXAMPLES, replacement)] - every entry must match (the table stays honest).
# Replacements are str.format templates over :meth:`Estate.values`.
SUBSTITUTIONS: dict[str, list[tuple[str, str]]] = {
    "rds_ca_facts": [
        ("/var/lib/rdsca/inventory.jsonl", "{tmp}/var/lib/rdsca/inventory.jsonl"),
    ],
    "rds_ssl_usage": [
        ("/etc/pki/rds/global-bundle.pem", "{sim_bundle}"),
        ("/etc/pki/rds/eu-west-1-bundle.pem", "{sim_bundle}"),
        ("login_user: monitor", "login_user: admin"),  # the linked servers' one user
        ("sample_seconds: 120", "sample_seconds: 2"),  # two minutes of sampling, shortened
        ("sample_interval: 2\n", "sample_interval: 0.5\n"),
        ("connect_port: 15432", "connect_port: {orders_production_port}"),  # the tunnel: the linked server's port
    ],
    "rds_ca_rotate": [
        ("/etc/pki/rds/global-bundle.pem", "{sim_bundle}"),
    ],
    "rds_ca_bundle": [
        ("sha256:" + FAKE_CHECKSUM, "sha256:{sim_bundle_sha256}"),
        ("/srv/rds-ca/eu-central-1", "{tmp}/srv/rds-ca/eu-central-1"),
    ],
    "rds_ca_trust_store": [
        # every store under the test's temporary directory (trusted_bundle and the env store's bundle alike)
        ("path: /", "path: {tmp}/"),
        ("bundle: /", "bundle: {tmp}/"),
    ],
    "rds_ca_trust_verify": [
        # Names that resolve in RDS's DNS only: the linked servers' names, reached on 127.0.0.1.
        ("server_name: orders.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com\n        port: 5432",
         "server_name: {orders_staging_address}\n        connect_host: 127.0.0.1\n        port: {orders_staging_port}"),
        ("server_name: billing.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com\n        port: 3306",
         "server_name: {billing_staging_address}\n        connect_host: 127.0.0.1\n        port: {billing_staging_port}"),
    ],
}

# Task name: (the reason it cannot succeed against the simulator, text its error must hold).
EXPECTED_FAILURES = {
    "One database through an SSH tunnel on localhost:15432, IAM authentication": (
        "the linked servers do not implement IAM database authentication (tests/simulator), so the token the "
        "module made is refused; everything before the login (describe, probe, TLS verification) must work",
        'password authentication failed for user "iam_monitor"'),
}


def examples(module: str) -> str:
    """The EXAMPLES string of ``plugins/modules/<module>.py``, read without importing the module."""
    path = os.path.join(REPO, "plugins", "modules", module + ".py")
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXAMPLES" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("%s has no EXAMPLES" % path)


def substituted(module: str, values: dict[str, str]) -> list[dict[str, Any]]:
    text = examples(module)
    for old, new in SUBSTITUTIONS[module]:
        assert old in text, "%s EXAMPLES no longer hold %r: update SUBSTITUTIONS" % (module, old)
        text = text.replace(old, new.format(**values))
    tasks = yaml.safe_load(text)
    assert isinstance(tasks, list) and tasks, module
    return tasks


def test_substitution_table_is_small_and_every_example_task_is_named():
    """The substitutions change values only (no task added or removed), and every task has a name to check."""
    assert sum(len(v) for v in SUBSTITUTIONS.values()) <= 15
    for module in MODULES:
        tasks = yaml.safe_load(examples(module))
        assert all(task.get("name") for task in tasks), module


# -- the HTTPS proxy standing in for truststore.pki.rds.amazonaws.com --------------------------------------------

def _test_ca(tmp: str) -> tuple[str, str, str]:
    """A CA and a server certificate for truststore.pki.rds.amazonaws.com: (ca_pem, cert_path, key_path)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test_examples proxy CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TRUSTSTORE_HOST)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(TRUSTSTORE_HOST)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = os.path.join(tmp, "truststore.pem"), os.path.join(tmp, "truststore.key")
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return ca.public_bytes(serialization.Encoding.PEM).decode(), cert_path, key_path


class TruststoreProxy:
    """An HTTPS proxy: CONNECT truststore.pki.rds.amazonaws.com:443, then TLS as that host, serving ``bundle``.

    Any other CONNECT is refused (the examples must not reach anything else). ``requests`` lists the paths.
    """

    def __init__(self, bundle: bytes, cert_path: str, key_path: str) -> None:
        self.bundle = bundle
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert_path, key_path)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.requests: list[str] = []
        self.refused: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn = self.listener.accept()[0]
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            target = head.split(b" ")[1].decode()
            if not head.startswith(b"CONNECT ") or target != TRUSTSTORE_HOST + ":443":
                self.refused.append(target)
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with self.context.wrap_socket(conn, server_side=True) as tls:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = tls.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                path = request.split(b" ")[1].decode()
                self.requests.append(path)
                if path.endswith("-bundle.pem"):
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-pem-file\r\nContent-Length: %d\r\n"
                                b"Connection: close\r\n\r\n" % len(self.bundle) + self.bundle)
                else:
                    tls.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except (OSError, ssl.SSLError, IndexError):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.listener.close()


# -- the run ------------------------------------------------------------------------------------------------

class Estate:
    """The fleet loaded, the values the substitutions use, and one run of every example."""

    def __init__(self, simulator: Any, tmp: str) -> None:
        self.simulator = simulator
        self.tmp = tmp
        linked = {item["id"]: item for item in simulator.control("GET", "/_sim/linked").values()}
        self.linked = linked
        self.bundle = simulator.control("GET", "/_sim/bundle")["path"]
        with open(self.bundle, "rb") as handle:
            self.bundle_bytes = handle.read()
        self.password = next(iter(linked.values()))["admin_password"]
        self.values = {
            "sim_bundle": self.bundle,
            "sim_bundle_sha256": hashlib.sha256(self.bundle_bytes).hexdigest(),
            "tmp": tmp,
            "orders_production_port": str(linked["orders-production"]["port"]),
            "orders_staging_address": linked["orders-staging"]["address"],
            "orders_staging_port": str(linked["orders-staging"]["port"]),
            "billing_staging_address": linked["billing-staging"]["address"],
            "billing_staging_port": str(linked["billing-staging"]["port"]),
        }

    def rds(self, region: str = REGION):
        return boto3.client("rds", region_name=region, endpoint_url=self.simulator.url,
                            aws_access_key_id=SIM_ACCESS_KEY, aws_secret_access_key=SIM_SECRET_KEY)

    def ca_of(self, identifier: str, region: str = REGION) -> str:
        return self.rds(region).describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0][
            "CACertificateIdentifier"]

    def playbook(self) -> list[dict[str, Any]]:
        defaults = {"group/rdsca.rotation.rds_ca": {"endpoint_url": self.simulator.url, "region": REGION},
                    "rdsca.rotation.rds_ssl_usage": {"connect_host": "127.0.0.1"},
                    "rdsca.rotation.rds_ca_rotate": {"connect_host": "127.0.0.1", "poll_interval": 1}}
        plays = []
        usage_tasks = substituted("rds_ssl_usage", self.values)
        for module in MODULES:
            tasks = substituted(module, self.values)
            if module == "rds_ca_rotate":
                # The rotations use `usage` as rds_ssl_usage's first example registers it (the later ones
                # overwrite it with probe-only results): that example runs again first.
                tasks = [dict(usage_tasks[0], name="(again) " + usage_tasks[0]["name"])] + tasks
            play = {"name": module + " EXAMPLES", "hosts": "localhost", "gather_facts": False,
                    "module_defaults": defaults,
                    # One failing example must not hide the others: each is checked from its own result.
                    "tasks": [dict(task, ignore_errors=True) for task in tasks]}
            if module == "rds_ca_trust_store":
                play["handlers"] = [{"name": "Update the system CA trust store",
                                     "ansible.builtin.set_fact": {"trust_store_handler_ran": True}}]
            plays.append(play)
        return plays

    def run(self) -> dict[str, Any]:
        ca_pem, cert_path, key_path = _test_ca(self.tmp)
        proxy = TruststoreProxy(self.bundle_bytes, cert_path, key_path)
        self.proxy = proxy
        trusted = os.path.join(self.tmp, "trusted.pem")
        with open(trusted, "w", encoding="ascii") as handle:
            handle.write(ca_pem + self.bundle_bytes.decode("ascii"))
        for directory in ("usr/local/share/ca-certificates", "etc/ssl/certs", "opt/app/conf", "play/files"):
            os.makedirs(os.path.join(self.tmp, directory), exist_ok=True)
        shutil.copy(self.bundle, os.path.join(self.tmp, "play", "files", "global-bundle.pem"))
        playbook = os.path.join(self.tmp, "play", "examples.yml")
        with open(playbook, "w", encoding="utf-8") as handle:
            yaml.safe_dump(self.playbook(), handle, sort_keys=False)
        env = self.simulator.env()
        del env["AWS_ENDPOINT_URL"]  # the action group alone points the modules at the simulator
        env.update({"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "https_proxy": "http://127.0.0.1:%d" % proxy.port,
                    "HTTPS_PROXY": "http://127.0.0.1:%d" % proxy.port, "no_proxy": "127.0.0.1,localhost",
                    "NO_PROXY": "127.0.0.1,localhost", "SSL_CERT_FILE": trusted})
        extra = {"rds_endpoint_url": self.simulator.url, "vault_monitor_password": self.password,
                 "vault_truststore_password": "examples-truststore-pw"}
        _ensure_collection_link()
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
               playbook, "-e", json.dumps(extra)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, cwd=REPO, check=False)
        finally:
            proxy.close()
        try:
            output = json.loads(proc.stdout)
        except ValueError:
            raise AssertionError("ansible-playbook did not print JSON (rc %s):\n%s\n%s" % (
                proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
        self.stderr = proc.stderr
        with open(os.path.join(self.tmp, "output.json"), "w", encoding="utf-8") as handle:
            json.dump(output, handle)  # for a reader of a failure
        return output


def task_results(output: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each task's localhost result, by (play name, task name)."""
    results = {}
    for play in output["plays"]:
        for task in play["tasks"]:
            results[(play["play"]["name"].replace(" EXAMPLES", ""), task["task"]["name"])] = \
                task["hosts"].get("localhost", {})
    return results


@pytest.fixture(scope="module")
def estate(simulator, tmp_path_factory):
    simulator.load(FLEET)
    estate = Estate(simulator, str(tmp_path_factory.mktemp("examples")))
    estate.output = estate.run()
    estate.results = task_results(estate.output)
    return estate


def result(estate: Estate, module: str, name: str) -> dict[str, Any]:
    key = (module, name)
    assert key in estate.results, "%s: task %r did not run; ran %s" % (module, name, sorted(estate.results))
    return estate.results[key]


@pytest.mark.parametrize("module", MODULES)
def test_every_example_task_runs_without_error(estate, module):
    names = task_names(substituted(module, estate.values))
    for name in names:
        outcome = result(estate, module, name)
        failed = outcome.get("failed") or any(r.get("failed") for r in outcome.get("results", []))
        if name in EXPECTED_FAILURES:
            _reason, text = EXPECTED_FAILURES[name]
            assert failed and text in outcome.get("msg", ""), (name, outcome.get("msg"))
            continue
        assert not failed, "%s / %r failed: %s" % (module, name, outcome.get("msg") or outcome)
        assert not outcome.get("skipped"), (module, name)


# -- did each task do what it says ---------------------------------------------------------------------------

def task_names(tasks: list[dict[str, Any]]) -> list[str]:
    """The names of the tasks that run (a block's own tasks, not the block)."""
    names = []
    for task in tasks:
        names.extend(task_names(task["block"]) if "block" in task else [task["name"]])
    return names


def by_id(databases: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["identifier"]: d for d in databases}


def test_rds_ca_facts_examples(estate):
    inventory = result(estate, "rds_ca_facts", "Inventory the CAs of every database in three regions")
    assert inventory["regions_queried"] == ["ap-southeast-2", "eu-west-1", "us-east-1"]
    assert "legacy-pg" in by_id(inventory["databases"]) and "orders-apac" in by_id(inventory["databases"])
    shown = result(estate, "rds_ca_facts", "Show what needs rotating, and which of those would restart")["msg"]
    assert shown.startswith("%d of %d databases need a new CA" % (inventory["summary"]["needs_rotation"],
                                                                  inventory["summary"]["databases"]))
    expiring = result(estate, "rds_ca_facts",
                      "Production PostgreSQL and Aurora PostgreSQL whose CA expires within 90 days, every enabled region")
    assert expiring["target_ca"] == RSA4096 and len(expiring["regions_queried"]) > 3
    found = by_id(expiring["databases"])
    # On the expired rds-ca-2019, production, (Aurora) PostgreSQL: in; staging, MariaDB, a valid CA: out.
    assert {"orders-prod", "inventory-aurora-1", "inventory-aurora-2", "payments-prod"} <= set(found)
    assert not {"orders-staging", "billing-staging", "legacy-pg", "orders-production"} & set(found)
    strict = result(estate, "rds_ca_facts", "Inventory strictly")
    assert strict["regions_queried"] == ["eu-west-1", "us-east-1"] and strict["failed_regions"] == []
    proxied = result(estate, "rds_ca_facts",
                     "RDS Proxies too, and the databases whose direct clients must trust the new CA though a proxy is in front")
    assert proxied["proxy_errors"] == [] and all("proxied_by" in d for d in proxied["databases"])
    staging = result(estate, "rds_ca_facts",
                     "Staging databases that need rotation, from the facts set above (a later play can use them too)")
    assert sorted(staging["ansible_facts"]["staging_to_rotate"]) == ["billing-staging", "orders-staging"]
    estate_summary = result(estate, "rds_ca_facts",
                            "A 10,000-database estate - only the summary comes back, every record goes to a JSON Lines file")
    assert estate_summary["databases"] == [] and estate_summary["output_file"].endswith("/var/lib/rdsca/inventory.jsonl")
    assert estate_summary["summary"]["databases"] >= inventory["summary"]["databases"]  # every enabled region
    production = result(estate, "rds_ca_facts",
                        "Read the records back (full records, streamed from the file) for the production databases to rotate")
    assert {"orders-prod", "payments-prod"} <= set(production["ansible_facts"]["production_to_rotate"])
    accounts = result(estate, "rds_ca_facts", "Two AWS accounts, each through the role it trusts this controller with "
                                              "(labels carry the account)")
    labels = [d["label"] for d in accounts["databases"]]
    # orders-prod in both accounts: two databases, told apart by the account.
    assert {"123456789012/us-east-1/orders-prod", "210987654321/us-east-1/orders-prod"} <= set(labels)
    assert [(a["account"], a["alias"]) for a in accounts["accounts"]] == [
        ("123456789012", "shop-staging"), ("210987654321", "shop-prod")]
    assert accounts["failed_accounts"] == [] and "ansible_facts" not in accounts


def test_rds_ssl_usage_examples(estate):
    usage = result(estate, "rds_ssl_usage", "Who would break? Watch every database for two minutes")
    dbs = by_id(usage["databases"])
    # Logged in with the shortened window: TLS enforced by default on PostgreSQL 16, and nobody else connected
    # to PostgreSQL 14 (not enforced) and MariaDB: those are provably safe without a restart.
    assert dbs["orders-staging"]["ssl_enforced"] is True and dbs["orders-staging"]["safe_without_restart"] is False
    assert dbs["reports-pg"]["ssl_in_use"] == "no" and dbs["reports-pg"]["safe_without_restart"] is True
    assert dbs["billing-staging"]["safe_without_restart"] is True
    assert dbs["legacy-pg"].get("error")  # no server behind it: reported, the others still inspected
    safe = result(estate, "rds_ssl_usage", "Databases that can be rotated without a restart")["msg"]
    assert sorted(safe) == ["billing-staging", "reports-pg"]
    presented = by_id(result(estate, "rds_ssl_usage", "Which CA does each endpoint present? No credentials needed")
                      ["databases"])
    assert presented["orders-prod"]["probe"]["presented_ca"] == "rds-ca-2019"
    assert presented["orders-staging"]["probe"]["presented_ca"] == RSA4096
    iam = result(estate, "rds_ssl_usage", "One database through an SSH tunnel on localhost:15432, IAM authentication")
    (one,) = iam["databases"]
    assert one["identifier"] == "orders-production" and one["region"] == "eu-west-1"
    assert one["probe"]["verified"] is True  # through the tunnel port, verified against the endpoint's name
    slices = result(estate, "rds_ssl_usage", "Thousands of databases, 200 at a time, one line of output per slice (progress)")
    assert len(slices["results"]) == 1 and len(slices["results"][0]["databases"]) == len(usage["databases"])
    merged = result(estate, "rds_ssl_usage", "One result over every slice, as a single call returns it")
    assert len(merged["ansible_facts"]["usage"]["databases"]) == len(usage["databases"])
    logs = by_id(result(estate, "rds_ssl_usage",
                        "Who used TLS over the last three days? From the connection logs, without a database login")
                 ["databases"])
    assert logs["orders-staging"]["log_evidence"]["available"] is True
    # MariaDB on its default option group: audit evidence read, incomplete without MARIADB_AUDIT_PLUGIN, says why.
    billing = logs["billing-staging"]["log_evidence"]
    assert billing["available"] is True and billing["complete"] is False
    assert "no MARIADB_AUDIT_PLUGIN option" in billing["reason"]
    incomplete = result(estate, "rds_ssl_usage",
                        "Databases whose log evidence is incomplete (log_connections off, no audit plugin, short retention...)")["msg"]
    assert "orders-staging" in incomplete  # log_connections is off in the default parameter group


def test_rds_ca_rotate_examples(estate):
    staging = by_id(result(estate, "rds_ca_rotate", "Rotate staging now, restart-free engines only, verified, rolled "
                                                    "back if a client could not verify")["databases"])
    assert set(staging) == {"orders-staging", "billing-staging"}
    assert staging["orders-staging"]["status"] == "rotated" and staging["orders-staging"]["previous_ca"] == RSA4096
    assert staging["billing-staging"]["status"] == "skipped"  # would restart: allow_restart is false
    production = result(estate, "rds_ca_rotate", "Production - restart-free engines now, the others in their "
                                                 "maintenance window")
    prod = by_id(production["databases"])
    assert prod["orders-prod"]["status"] == "rotated"
    assert prod["payments-prod"]["status"] == "scheduled" and prod["payments-prod"]["region"] == "eu-west-1"
    assert {"inventory-aurora-1", "inventory-aurora-2"} <= set(prod)
    assert production["regions"]["eu-west-1"]["default_ca_for_new_launches"] == TARGET
    window = by_id(result(estate, "rds_ca_rotate", "Everything in the next maintenance window, through RDS's "
                                                   "ca-certificate-rotation maintenance action")["databases"])
    assert window["legacy-pg"]["status"] == "scheduled"
    no_restart = by_id(result(estate, "rds_ca_rotate", "Rotate without restarting, where rds_ssl_usage proved that "
                                                       "nobody uses SSL/TLS")["databases"])
    assert set(no_restart) == {"billing-staging", "reports-pg"}
    assert all(d["status"] in ("rotated", "scheduled") for d in no_restart.values()), no_restart
    assert estate.ca_of("reports-pg") == TARGET and estate.ca_of("billing-staging") == TARGET
    preview = result(estate, "rds_ca_rotate", "What would happen, with the CA before and after (check and diff mode)")
    assert set(by_id(preview["databases"])) == {"orders-staging", "orders-prod"} and not preview["changed"]
    rollback = result(estate, "rds_ca_rotate", "Roll back a run - each database to its previous_ca, one task per previous CA")
    assert [r["item"][0] for r in rollback["results"]] == [RSA4096]
    assert estate.ca_of("orders-staging") == RSA4096  # back where it was before the staging example
    other = result(estate, "rds_ca_rotate", "A database of another account, by its label, through that account's role")
    assert [(d["label"], d["account_alias"], d["status"]) for d in other["databases"]] == [
        ("210987654321/us-east-1/orders-prod", "shop-prod", "rotated")]
    assert set(other["api_calls"]) == {"us-east-1", "210987654321/us-east-1"}
    defaults = result(estate, "rds_ca_rotate", "The default CA for new launches in eu-west-1 of every account listed, "
                                               "with or without databases there")
    assert sorted(defaults["regions"]) == ["123456789012/eu-west-1", "210987654321/eu-west-1"]
    assert all(r["default_ca_for_new_launches"] == TARGET for r in defaults["regions"].values())


def test_rds_ca_bundle_examples(estate):
    downloaded = result(estate, "rds_ca_bundle", "Download and validate the global bundle once, on the controller")
    assert downloaded["source"] == "https://%s/global/global-bundle.pem" % TRUSTSTORE_HOST
    assert downloaded["count"] > 0
    pinned = result(estate, "rds_ca_bundle", "Use a copy reviewed and committed next to the playbook, pinned")
    assert pinned["source"].endswith("/files/global-bundle.pem")
    assert pinned["source_sha256"] == estate.values["sim_bundle_sha256"]
    written = result(estate, "rds_ca_bundle", "Write one file per certificate for another tool")
    dest = os.path.join(estate.tmp, "srv", "rds-ca", "eu-central-1")
    assert written["changed"] and os.path.isfile(os.path.join(dest, "bundle.pem"))
    assert estate.proxy.requests == ["/global/global-bundle.pem", "/eu-central-1/eu-central-1-bundle.pem"]
    assert estate.proxy.refused == []
    names = result(estate, "rds_ca_bundle", "Show what the bundle holds")["msg"]
    assert names == [c["name"] for c in pinned["certificates"]]


def test_rds_ca_trust_store_examples(estate):
    debian = result(estate, "rds_ca_trust_store", "Debian trust anchors")
    directory = os.path.join(estate.tmp, "usr", "local", "share", "ca-certificates")
    assert debian["changed"] and sorted(os.listdir(directory)) == sorted(n + ".crt" for n in debian["added"])
    handler = result(estate, "rds_ca_trust_store", "Update the system CA trust store")
    assert handler["ansible_facts"]["trust_store_handler_ran"] is True
    java = result(estate, "rds_ca_trust_store", "An application truststore")
    assert java["changed"] and os.path.isfile(os.path.join(estate.tmp, "opt", "app", "conf", "truststore.p12"))
    assert java["added"] == debian["added"]
    every = result(estate, "rds_ca_trust_store", "Every trust store of a host in one module run")
    assert [s["type"] for s in every["stores"]] == ["directory", "file", "env"]
    # the anchors are there already (the Debian example); the compiled bundle still lacks them (no update tool ran
    # here), so the store asks for the update again (refresh) - and the bundle file and environment file are new
    assert every["stores"][0]["added"] == [] and every["stores"][0]["refresh"] is True
    assert every["stores"][1]["changed"] and every["stores"][2]["changed"]
    bundle = os.path.join(estate.tmp, "etc", "ssl", "certs", "rds-global-bundle.pem")
    with open(bundle, encoding="ascii") as handle:
        assert handle.read().count("BEGIN CERTIFICATE") == len(debian["added"])
    with open(os.path.join(estate.tmp, "etc", "profile.d", "rds-ca.sh"), encoding="utf-8") as handle:
        assert "export PGSSLROOTCERT='%s'" % bundle in handle.read()


def test_rds_ca_trust_verify_examples(estate):
    verified = result(estate, "rds_ca_trust_verify", "Verify from each client host")
    assert [e["verified"] for e in verified["endpoints"]] == [True, True]
    assert [e["protocol"] for e in verified["endpoints"]] == ["postgres", "mysql"]
    assert verified["failed_endpoints"] == []


def test_action_group_also_configures_amazon_aws_modules(estate):
    """meta/runtime.yml: group/rdsca.rotation.rds_ca extends amazon.aws.aws, so one module_defaults block sets the
    connection of both collections' modules (no AWS_ENDPOINT_URL in the environment: only the group points them
    at the simulator)."""
    play = {"hosts": "localhost", "gather_facts": False,
            "module_defaults": {"group/rdsca.rotation.rds_ca": {"endpoint_url": estate.simulator.url,
                                                                "region": "eu-west-1"}},
            "tasks": [{"name": "facts", "rdsca.rotation.rds_ca_facts": {"set_facts": False}, "register": "facts"},
                      {"name": "amazon.aws", "amazon.aws.rds_instance_info": {}, "register": "info"}],
            "save": ["facts", "info"]}
    env = estate.simulator.env()
    del env["AWS_ENDPOINT_URL"]
    from conftest import _with_save  # the same save task as run_playbook
    playbook = os.path.join(estate.tmp, "group.yml")
    results_file = os.path.join(estate.tmp, "group.json")
    with open(playbook, "w", encoding="utf-8") as handle:
        yaml.safe_dump(_with_save([play]), handle, sort_keys=False)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c",
                           "local", playbook, "-e", json.dumps({"rdsca_test_results_file": results_file})],
                          capture_output=True, text=True, env=env, timeout=300, cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(results_file, encoding="utf-8") as handle:
        saved = json.load(handle)
    ours = sorted(d["identifier"] for d in saved["facts"]["databases"])
    theirs = sorted(i["db_instance_identifier"] for i in saved["info"]["instances"])
    assert ours == theirs == ["orders-production", "payments-prod"]
