"""Bad input, case by case, through one real ansible-playbook run against the simulator.

Every row of CASES is a task of that run (ignore_errors, registered) and a test of its own
(``test_bad_input[<case>]``) that checks three things:

* the task fails with a message that names the problem and what to do (the row's ``expect``
  substrings, all of them) - except ``bundle_crlf``, a bundle that must be *accepted* with
  exactly the certificates of its LF twin;
* nothing changed: the simulator served no Modify*/Apply* call during the whole run, every
  database still has the CA and pending CA it had, the region defaults are the same, and the
  ``dest`` directory a bundle task would have written does not exist;
* no secret shows: the database password, the wrong password tried, the AWS secret key and
  the session token of the run's environment are in none of the registered results and in none
  of the run's output.

Secrets are passed the way they are in real use (variables, environment), never as literals in
the playbook: ansible-core prints the source of a failed task. Property-based tests of the PEM
splitter and validator are at the end (hypothesis), on top of those in
tests/unit/plugins/module_utils/test_bundle.py.
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
import socket
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.integration.conftest import COLLECTIONS_PATH, _ensure_collection_link
from tests.simulator.linked import tools_available
from tests.simulator.server import SIM_SECRET_KEY

_ensure_collection_link()
if COLLECTIONS_PATH not in sys.path:
    sys.path.insert(0, COLLECTIONS_PATH)

from ansible_collections.rdsca.rotation.plugins.module_utils import bundle as bundle_lib  # noqa: E402

x509 = pytest.importorskip("cryptography.x509")
hypothesis = pytest.importorskip("hypothesis")

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

REGION = "us-east-1"
OLD = "rds-ca-2019"
TARGET = "rds-ca-rsa2048-g1"
RSA4096 = "rds-ca-rsa4096-g1"
MODIFY_OPERATIONS = ("ModifyDBInstance", "ModifyDBCluster", "ApplyPendingMaintenanceAction", "ModifyCertificates",
                     "RebootDBInstance")
WRONG_PASSWORD = "Wr0ng-" + secrets.token_urlsafe(12)
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEBadInput" + secrets.token_urlsafe(24)

FLEET = {
    "description": "bad input: a little of everything, one real PostgreSQL server",
    "timing": {"modify_seconds": 0.3, "reboot_seconds": 0.3},
    "engine_versions": [
        {"engine": "postgres", "version": "11.99", "rotation_without_restart": False,
         "supported_cas": [OLD, TARGET]},
    ],
    "regions": {
        REGION: {
            "default_ca": TARGET,
            "customer_override": OLD,
            "instances": [
                {"id": "app-hot", "engine": "postgres", "engine_version": "16.3", "ca": OLD},
                {"id": "app-restart", "engine": "postgres", "engine_version": "14.10", "ca": OLD},
                {"id": "app-legacy", "engine": "postgres", "engine_version": "11.99", "ca": OLD},
                {"id": "pg-linked", "engine": "postgres", "engine_version": "16.3", "ca": TARGET, "linked": "postgres"},
            ],
            "clusters": [
                {"id": "inventory-aurora", "engine": "aurora-postgresql", "engine_version": "15.4",
                 "members": [{"id": "inventory-aurora-1", "writer": True, "ca": OLD},
                             {"id": "inventory-aurora-2", "ca": OLD}]},
            ],
        },
        "eu-west-1": {"default_ca": TARGET,
                      "instances": [{"id": "web-eu", "engine": "mariadb", "engine_version": "10.11.8", "ca": OLD}]},
    },
}


@dataclass
class Case:
    """One bad input: the task, what its message must say, and which part of the issue it is."""

    name: str
    module: str
    args: dict[str, Any]
    expect: list[str]
    covers: str
    accepted: bool = False
    options: dict[str, Any] = field(default_factory=dict)


def rotate(**args: Any) -> dict[str, Any]:
    args.setdefault("poll_interval", 0.2)
    return args


def usage(databases: list[dict[str, Any]], **args: Any) -> dict[str, Any]:
    return {"databases": databases, "connect_host": "127.0.0.1", "ca_cert": "{{ sim_bundle }}",
            "login_user": "admin", "login_password": "{{ vault_db_password }}", "strict": True, "timeout": 3, **args}


def bundle(src: str, **args: Any) -> dict[str, Any]:
    """rds_ca_bundle reading `src`, asked to write its certificates to a directory that must not appear."""
    return {"src": "{{ bad_dir }}/%s" % src, "regions": [REGION], "dest": "{{ bad_dir }}/out-%s" % src.split(".")[0],
            **args}


NOTHING = "Nothing was changed"
REFUSED = "The CA bundle was refused, nothing was changed"
AGAIN = "Get a complete copy of the bundle again"
GLOBAL_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"

CASES = [
    # -- CAs, regions, databases ----------------------------------------------------------------------
    Case("unknown_ca", "rds_ca_rotate", rotate(databases=["app-hot"], target_ca="rds-ca-rsa2048-g9"),
         [NOTHING, "target_ca rds-ca-rsa2048-g9 is not a CA of us-east-1",
          "DescribeCertificates lists: rds-ca-2019, rds-ca-ecc384-g1, rds-ca-rsa2048-g1, rds-ca-rsa4096-g1"],
         "unknown CA identifier"),
    Case("expired_ca", "rds_ca_rotate", rotate(databases=["app-hot"], target_ca=OLD),
         [NOTHING, "target_ca rds-ca-2019 cannot be used in us-east-1: rds-ca-2019 expired on 2024-08-22"],
         "unknown CA identifier (expired)"),
    Case("ca_not_supported_by_engine_version", "rds_ca_rotate", rotate(databases=["app-hot", "app-legacy"], target_ca=RSA4096),
         [NOTHING, "us-east-1/app-legacy: postgres 11.99 does not support rds-ca-rsa4096-g1",
          "(SupportedCACertificateIdentifiers: rds-ca-2019, rds-ca-rsa2048-g1)"],
         "CA not supported by the engine version"),
    Case("region_typo", "rds_ca_rotate", rotate(databases=["us-esat-1/app-hot"]),
         ["Invalid options, nothing was changed", "us-esat-1 is not a region known to botocore", "(did you mean", "us-east-1"],
         "region typo"),
    Case("region_typo_facts", "rds_ca_facts", {"regions": ["us-east-1", "eu-wset-1"]},
         ["Invalid options", "eu-wset-1 is not a region known to botocore", "did you mean eu-west-1"],
         "region typo"),
    Case("nonexistent_database", "rds_ca_rotate", rotate(databases=["app-hot", "app-hott"]),
         [NOTHING, "us-east-1/app-hott: no DB instance or DB cluster of that identifier in us-east-1",
          "(similar: app-hot"],
         "nonexistent database"),
    Case("nonexistent_database_usage", "rds_ssl_usage", usage([{"identifier": "no-such-db"}]),
         ["could not be fully inspected", "DB instance no-such-db not found in us-east-1"],
         "nonexistent database"),
    Case("cluster_id_as_instance", "rds_ca_rotate",
         rotate(databases=[{"identifier": "inventory-aurora", "type": "instance"}]),
         [NOTHING, "us-east-1/inventory-aurora is a DB cluster identifier, but the entry says type: instance",
          "give one of its DB instances (inventory-aurora-1, inventory-aurora-2), or drop type"],
         "cluster id given where an instance is expected"),
    # -- CA bundles ----------------------------------------------------------------------------------
    Case("bundle_empty", "rds_ca_bundle", bundle("empty.pem"), [REFUSED, "empty.pem is empty", AGAIN], "empty bundle"),
    Case("bundle_truncated", "rds_ca_bundle", bundle("truncated.pem"),
         [REFUSED, "has no END line: the file is truncated", AGAIN], "truncated bundle"),
    Case("bundle_html", "rds_ca_bundle", bundle("html.pem"), [REFUSED, "is an HTML page, not a PEM bundle", AGAIN],
         "HTML bundle"),
    Case("bundle_not_rds", "rds_ca_bundle", bundle("not-rds.pem"),
         [REFUSED, "(Example Corp Root CA) is not an Amazon RDS CA", "set require_rds_subjects=false if the bundle adds other CAs on purpose"],
         "non-RDS bundle"),
    Case("bundle_expired_only", "rds_ca_bundle", bundle("expired-only.pem", regions=[]),
         [REFUSED, "holds no valid certificate: all 1 expired", "Use the current bundle (%s)" % GLOBAL_URL],
         "expired-only bundle"),
    Case("bundle_crlf", "rds_ca_bundle", {"src": "{{ bad_dir }}/crlf.pem", "regions": [REGION]}, ["certificate(s) from"], "CRLF bundle (accepted)",
         accepted=True),
    Case("checksum_mismatch", "rds_ca_bundle", bundle("good.pem", checksum="sha256:" + "0" * 64),
         [REFUSED, "good.pem does not match the pinned checksum", "expected " + "0" * 64,
          "Find out why the content differs from the pinned one before changing checksum"], "checksum mismatch"),
    # -- databases: password, reachability, TLS names ----------------------------------------------------
    Case("wrong_db_password", "rds_ssl_usage",
         usage([{"identifier": "pg-linked"}], login_password="{{ vault_wrong_password }}"),
         ["1 of 1 database(s) could not be fully inspected", "cannot connect to", "as admin",
          'password authentication failed for user "admin"'],
         "wrong DB password"),
    Case("unreachable_host", "rds_ssl_usage", usage([{"identifier": "pg-linked", "connect_port": "{{ closed_port }}"}]),
         ["could not be fully inspected", "probe: cannot connect to 127.0.0.1:"], "unreachable host"),
    Case("tls_hostname_mismatch", "rds_ssl_usage",
         usage([{"identifier": "pg-linked", "endpoint_address": "{{ wrong_name }}"}]),
         ["could not be fully inspected", "Hostname mismatch"], "TLS hostname mismatch"),
    Case("tls_hostname_mismatch_client", "rds_ca_trust_verify",
         {"endpoints": [{"server_name": "{{ wrong_name }}", "port": "{{ pg_port }}", "connect_host": "127.0.0.1",
                         "ca_cert": "{{ sim_bundle }}"}], "timeout": 5},
         ["1 of 1 endpoint(s) failed TLS verification from this host", "does NOT verify", "Hostname mismatch"],
         "TLS hostname mismatch"),
    # -- options -------------------------------------------------------------------------------------
    Case("restart_false_without_evidence", "rds_ca_rotate",
         rotate(databases=["app-restart"], certificate_rotation_restart=False),
         ["Invalid options, nothing was changed", "certificate_rotation_restart=false is refused without evidence",
          "pass the results of rds_ssl_usage in ssl_usage"],
         "certificate_rotation_restart=false without evidence"),
    Case("restart_false_with_ssl_in_use", "rds_ca_rotate",
         rotate(databases=["app-restart"], certificate_rotation_restart=False,
                ssl_usage={"databases": [{"identifier": "app-restart", "ssl_in_use": "yes"}]}),
         [NOTHING, "the ssl_usage evidence shows SSL/TLS in use", "rotate it with a restart instead"],
         "certificate_rotation_restart=false without evidence"),
    Case("conflicting_verify_and_maintenance_window", "rds_ca_rotate",
         rotate(databases=["app-hot"], apply="maintenance_window", verify_endpoint=True, ca_cert="{{ sim_bundle }}"),
         ["Invalid options, nothing was changed", "verify_endpoint needs a change applied now"], "conflicting options"),
    Case("conflicting_rollback_without_verify", "rds_ca_rotate", rotate(databases=["app-hot"], rollback_on_failure=True),
         ["Invalid options, nothing was changed", "rollback_on_failure needs verify_endpoint"], "conflicting options"),
    Case("conflicting_identifier_and_databases", "rds_ssl_usage",
         {"identifier": "pg-linked", "databases": [{"identifier": "pg-linked"}]},
         ["mutually exclusive", "identifier", "databases"], "conflicting options"),
    Case("conflicting_src_and_url", "rds_ca_bundle", bundle("good.pem", url="https://example.invalid/b.pem"),
         ["mutually exclusive", "src", "url"], "conflicting options"),
    Case("zero_and_negative_rotate", "rds_ca_rotate",
         rotate(databases=["app-hot"], concurrency=0, wait_timeout=0, poll_interval=-1, verify_timeout=0),
         ["Invalid options, nothing was changed", "concurrency must be 1 or more, got 0",
          "wait_timeout must be more than 0, got 0", "poll_interval must be more than 0, got -1",
          "verify_timeout must be more than 0, got 0"],
         "negative/zero timeouts and concurrency"),
    Case("zero_concurrency_facts", "rds_ca_facts", {"regions": [REGION], "concurrency": 0},
         ["Invalid options", "concurrency must be 1 or more, got 0"], "negative/zero timeouts and concurrency"),
    Case("zero_and_negative_usage", "rds_ssl_usage",
         usage([{"identifier": "pg-linked"}], timeout=0, concurrency=0, sample_seconds=-1, sample_interval=0),
         ["Invalid options", "sample_seconds must be 0 or more", "sample_interval must be more than 0",
          "timeout must be more than 0", "concurrency must be 1 or more"],
         "negative/zero timeouts and concurrency"),
    Case("zero_timeout_bundle", "rds_ca_bundle", bundle("good.pem", timeout=0),
         ["Invalid options", "timeout must be more than 0, got 0"], "negative/zero timeouts and concurrency"),
    Case("negative_timeout_client_verify", "rds_ca_trust_verify",
         {"endpoints": [{"server_name": "{{ pg_name }}", "port": "{{ pg_port }}", "connect_host": "127.0.0.1"}],
          "timeout": -1},
         ["Invalid options", "timeout must be more than 0, got -1.0"], "negative/zero timeouts and concurrency"),
    # -- numbers that are not numbers, or absurd (issue 13 item 9): refused before any change -----------
    Case("nan_poll_interval_rotate", "rds_ca_rotate", rotate(databases=["app-hot"], poll_interval="nan"),
         ["Invalid options, nothing was changed", "poll_interval must be a finite number, got nan"],
         "NaN, infinity and absurd numbers"),
    Case("inf_poll_interval_rotate", "rds_ca_rotate", rotate(databases=["app-hot"], poll_interval="inf"),
         ["Invalid options, nothing was changed", "poll_interval must be a finite number, got inf"],
         "NaN, infinity and absurd numbers"),
    Case("poll_interval_longer_than_wait_timeout", "rds_ca_rotate",
         rotate(databases=["app-hot"], poll_interval=600, wait_timeout=60),
         ["Invalid options, nothing was changed", "poll_interval (600.0) must not be longer than wait_timeout (60)"],
         "NaN, infinity and absurd numbers"),
    Case("absurd_concurrency_rotate", "rds_ca_rotate", rotate(databases=["app-hot"], concurrency=10 ** 9),
         ["Invalid options, nothing was changed", "concurrency must be at most 500 (databases), got 1000000000"],
         "NaN, infinity and absurd numbers"),
    Case("nan_timeout_usage", "rds_ssl_usage", usage([{"identifier": "pg-linked"}], timeout="nan"),
         ["Invalid options", "timeout must be a finite number, got nan"], "NaN, infinity and absurd numbers"),
    Case("inf_sample_seconds_usage", "rds_ssl_usage", usage([{"identifier": "pg-linked"}], sample_seconds="inf"),
         ["Invalid options", "sample_seconds must be a finite number, got inf"], "NaN, infinity and absurd numbers"),
    Case("nan_timeout_client_verify", "rds_ca_trust_verify",
         {"endpoints": [{"server_name": "{{ pg_name }}", "port": "{{ pg_port }}", "connect_host": "127.0.0.1"}],
          "timeout": "nan"},
         ["Invalid options", "timeout must be a finite number, got nan"], "NaN, infinity and absurd numbers"),
    Case("absurd_port_client_verify", "rds_ca_trust_verify",
         {"endpoints": [{"server_name": "{{ pg_name }}", "port": 700000, "connect_host": "127.0.0.1"}]},
         ["Invalid options", "port must be at most 65535 (TCP port), got 700000"], "NaN, infinity and absurd numbers"),
    Case("absurd_concurrency_facts", "rds_ca_facts", {"regions": [REGION], "concurrency": 10 ** 6},
         ["Invalid options", "concurrency must be at most 1024 (threads), got 1000000"],
         "NaN, infinity and absurd numbers"),
]

SECRETS_IN_VARS = ("vault_db_password", "vault_wrong_password")


# -- fixtures: files, the run, the evidence -----------------------------------------------------------

def _name(common_name: str, rds: bool = True) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "US")]
    if rds:
        attributes += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, bundle_lib.RDS_ORGANIZATION),
                       x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, bundle_lib.RDS_ORGANIZATIONAL_UNIT)]
    else:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def self_signed_ca(common_name: str, rds: bool = True, not_after: datetime.datetime | None = None) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    utc = datetime.timezone.utc
    cert = (x509.CertificateBuilder().subject_name(_name(common_name, rds)).issuer_name(_name(common_name, rds))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(datetime.datetime(2019, 8, 22, tzinfo=utc))
            .not_valid_after(not_after or datetime.datetime(2061, 1, 1, tzinfo=utc))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def write_bundles(directory: str, good: str) -> None:
    with open(good, encoding="ascii") as handle:
        good_text = handle.read()
    files = {
        "good.pem": good_text,
        "crlf.pem": good_text.replace("\n", "\r\n"),
        "empty.pem": "",
        "truncated.pem": good_text[:len(good_text) // 3],
        "html.pem": "<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head><body>AccessDenied</body></html>\n",
        "not-rds.pem": self_signed_ca("Example Corp Root CA", rds=False),
        "expired-only.pem": self_signed_ca("Amazon RDS Root 2019 CA",
                                           not_after=datetime.datetime(2024, 8, 22, 17, 8, 50, tzinfo=datetime.timezone.utc)),
    }
    for name, text in files.items():
        with open(os.path.join(directory, name), "w", encoding="ascii", newline="") as handle:
            handle.write(text)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def state(simulator) -> dict[str, Any]:
    """Every instance's CA and pending CA, and each region's default CA, straight from the API."""
    out: dict[str, Any] = {}
    for region in simulator.sim.fleet.regions:
        rds = simulator.client(region=region)
        for db in rds.describe_db_instances()["DBInstances"]:
            out["%s/%s" % (region, db["DBInstanceIdentifier"])] = (
                db["CACertificateIdentifier"], (db.get("PendingModifiedValues") or {}).get("CACertificateIdentifier"),
                db["DBInstanceStatus"])
        certs = rds.describe_certificates()
        out[region + " default"] = certs.get("DefaultCertificateForNewLaunches")
    return out


def modifications(calls: dict[str, Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for region, ops in calls["by_region"].items():
        for op, n in ops.items():
            if op.split(":", 1)[1] in MODIFY_OPERATIONS:
                found["%s %s" % (region, op)] = n
    return found


class Run:
    """The outcome of the one run: registered results, output, calls, state before and after."""

    def __init__(self, result, before, after, calls, secret_values, bad_dir, lf_names) -> None:
        self.result = result
        self.before = before
        self.after = after
        self.calls = calls
        self.secrets = secret_values
        self.bad_dir = bad_dir
        self.lf_names = lf_names

    def output_of(self, name: str) -> str:
        """The part of the playbook output printed for task `name`."""
        marker = "TASK [%s]" % name
        text = self.result.stdout
        start = text.find(marker)
        assert start >= 0, "task %s not in the output" % name
        end = text.find("TASK [", start + len(marker))
        return text[start:end if end >= 0 else len(text)]


@pytest.fixture(scope="module")
def run(simulator, tmp_path_factory) -> Run:
    ok, why = tools_available("postgres")
    if not ok:
        pytest.skip("linked postgres servers unavailable: %s" % why)
    simulator.load(FLEET)
    linked = dict((v["id"], v) for v in simulator.control("GET", "/_sim/linked").values())
    sim_bundle = simulator.control("GET", "/_sim/bundle")["path"]
    bad_dir = str(tmp_path_factory.mktemp("bad-input"))
    write_bundles(bad_dir, sim_bundle)
    lf_loaded = bundle_lib.load_bundle(open(sim_bundle, "rb").read(), regions=[REGION], allow_unpinned=True)
    lf_names = [c["name"] for c in lf_loaded["certificates"]]
    pg = linked["pg-linked"]
    extra_vars = {
        "bad_dir": bad_dir, "sim_bundle": sim_bundle, "closed_port": closed_port(), "pg_port": pg["port"],
        "pg_name": pg["address"], "wrong_name": pg["address"].replace("pg-linked", "pg-linked-old"),
        "vault_db_password": pg["admin_password"], "vault_wrong_password": WRONG_PASSWORD,
    }
    tasks = [{"name": case.name, "rdsca.rotation.%s" % case.module: case.args, "register": case.name,
              "ignore_errors": True, **case.options} for case in CASES]
    play = {"hosts": "localhost", "gather_facts": False, "tasks": tasks, "save": [case.name for case in CASES],
            "module_defaults": {"group/rdsca.rotation.rds_ca": {"endpoint_url": "{{ sim_endpoint_url }}", "region": REGION}}}
    before = state(simulator)
    simulator.reset_calls()
    original_env = simulator.env
    simulator.env = lambda: dict(original_env(), AWS_SESSION_TOKEN=SESSION_TOKEN)
    try:
        result = simulator.run_playbook([play], extra_vars=extra_vars)
    finally:
        del simulator.env
    calls = simulator.calls()
    after = state(simulator)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout[-4000:]
    assert result.rc == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return Run(result, before, after, calls, [pg["admin_password"], WRONG_PASSWORD, SIM_SECRET_KEY, SESSION_TOKEN],
               bad_dir, lf_names)


# -- the table ---------------------------------------------------------------------------------------

def test_at_least_fifteen_cases_covering_every_kind_of_bad_input():
    assert len(CASES) >= 15
    assert len(set(c.name for c in CASES)) == len(CASES)
    kinds = set(c.covers.split(" (")[0] for c in CASES)
    assert kinds >= {
        "unknown CA identifier", "CA not supported by the engine version", "region typo", "nonexistent database",
        "cluster id given where an instance is expected", "empty bundle", "truncated bundle", "HTML bundle",
        "non-RDS bundle", "expired-only bundle", "CRLF bundle", "checksum mismatch", "wrong DB password",
        "unreachable host", "TLS hostname mismatch", "certificate_rotation_restart=false without evidence",
        "conflicting options", "negative/zero timeouts and concurrency",
        "NaN, infinity and absurd numbers"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(run: Run, case: Case):
    registered = run.result.task(case.name)
    message = registered.get("msg") or ""
    if case.accepted:
        assert not registered.get("failed"), message
        assert [c["name"] for c in registered["certificates"]] == run.lf_names
    else:
        assert registered.get("failed") is True, (case.name, registered)
        for text in case.expect:
            assert text in message, "%s: %r not in %r" % (case.name, text, message)
        assert "Traceback" not in message and "MODULE FAILURE" not in message
    for text in case.expect if case.accepted else []:
        assert text in message
    # Nothing changed, here or anywhere: no Modify*/Apply* call at all during the run, the same
    # CAs, pending CAs, statuses and region defaults, and no bundle directory written.
    assert modifications(run.calls) == {}
    assert run.after == run.before
    if case.args.get("dest"):
        assert not os.path.exists(case.args["dest"].replace("{{ bad_dir }}", run.bad_dir))
    # No secret in the result or in what ansible-playbook printed for the task.
    shown = json.dumps(registered) + run.output_of(case.name)
    for secret in run.secrets:
        assert secret not in shown, "%s: a secret shows" % case.name


def test_no_secret_anywhere_in_the_run(run: Run):
    everything = run.result.stdout + run.result.stderr + json.dumps(run.result.results)
    for secret in run.secrets:
        assert secret not in everything
    # The password-bearing tasks did log in with the secrets (and were refused, or stopped by the probe).
    assert "password authentication failed" in run.result.task("wrong_db_password")["msg"]


# -- property-based: the PEM splitter and validator ------------------------------------------------------
# (more in tests/unit/plugins/module_utils/test_bundle.py: exact splitting of formatted bundles, names
# independent of order and format, arbitrary bytes never crash, text without PEM always refused)

# Generated CAs with RDS names (keys AWS never issued): the pinning is tested in test_bundle.py, not here.
_CERTS = [self_signed_ca("Amazon RDS us-east-1 Root CA RSA2048 G1"), self_signed_ca("Amazon RDS eu-west-1 Root CA RSA2048 G1"),
          self_signed_ca("Amazon RDS ap-south-2 Root CA ECC384 G1")]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_CERTS), min_size=1, max_size=4), st.data())
def test_any_cut_of_a_bundle_is_refused_or_holds_only_whole_certificates(blocks, data):
    """A bundle cut anywhere (a truncated download) is refused with a reason, or keeps only complete blocks."""
    text = "".join(blocks)
    cut = data.draw(st.integers(min_value=0, max_value=len(text)))
    head = text[:cut]
    try:
        loaded = bundle_lib.load_bundle(head.encode("ascii"), allow_unpinned=True)
    except bundle_lib.BundleError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        assert str(exc)
        return
    whole = head.count("-----END CERTIFICATE-----")
    assert 1 <= len(loaded["certificates"]) <= whole
    assert all(c["pem"] in text.replace("\r\n", "\n") for c in loaded["certificates"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_CERTS), min_size=1, max_size=3),
       st.sampled_from(["\n", "\r\n"]), st.sampled_from(["", "\ufeff"]), st.booleans())
def test_line_endings_bom_and_final_newline_never_change_the_result(blocks, newline, bom, final_newline):
    canonical = bundle_lib.load_bundle("".join(blocks).encode("ascii"), allow_unpinned=True)
    text = bom + "".join(blocks).replace("\n", newline)
    if not final_newline:
        text = text.rstrip("\r\n")
    loaded = bundle_lib.load_bundle(text.encode("utf-8"), allow_unpinned=True)
    assert loaded["bundle"] == canonical["bundle"]
    assert [c["name"] for c in loaded["certificates"]] == [c["name"] for c in canonical["certificates"]]


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(_CERTS), st.integers(min_value=28, max_value=200), st.sampled_from("A/+=!*Zz0"))
def test_a_damaged_base64_body_is_refused_naming_the_block(cert, position, char):
    lines = cert.splitlines()
    body = "".join(lines[1:-1])
    position = min(position, len(body) - 1)
    if body[position] == char:
        return
    damaged = body[:position] + char + body[position + 1:]
    text = "\n".join([lines[0]] + [damaged[i:i + 64] for i in range(0, len(damaged), 64)] + [lines[-1]]) + "\n"
    try:
        loaded = bundle_lib.load_bundle(text.encode("ascii"), allow_unpinned=True)
    except bundle_lib.BundleError as exc:
        assert any("block 1" in p for p in exc.problems), exc.problems
        return
    # A change the DER reader cannot notice (e.g. inside the signature) still yields one whole certificate.
    assert len(loaded["certificates"]) == 1
