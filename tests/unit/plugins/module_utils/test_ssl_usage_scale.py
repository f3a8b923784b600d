# -*- coding: utf-8 -*-
# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""rds_ssl_usage at fleet scale (issue 20: 1,000 unreachable endpoints took one silent 185 s task).

* The probe's TCP connection has its own, short timeout (``connect_timeout``); later waits keep ``timeout``.
* An endpoint the probe could not reach is not logged into (the login would wait again for nothing).
* Probes run ``probe_workers`` at a time, logins never more than ``max_workers`` at a time.
* The verifying context is loaded once per trust store, not once per probe.

No test asserts a time: they check the answers, and count simultaneous connections.
"""

from __future__ import absolute_import, division, print_function

import datetime
import math
import socket
import threading

import pytest

from ansible_collections.rdsca.rotation.plugins.module_utils import ssl_usage, tls_probe
from ansible_collections.rdsca.rotation.plugins.module_utils.numbers import check_numbers

SERVER_NAME = "orders.c0ffee1234ab.eu-west-1.rds.amazonaws.com"


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def black_hole():
    """A 127.0.0.1 port whose TCP connections never complete: a listener with a full accept queue drops SYNs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    held = []
    try:
        for _attempt in range(16):
            try:
                held.append(socket.create_connection(("127.0.0.1", port), timeout=0.2))
            except socket.timeout:
                break
        else:
            pytest.skip("this kernel completes every connection to a full listener: no black hole on 127.0.0.1")
        yield port
    finally:
        for sock in held:
            sock.close()
        listener.close()


def target(identifier, port, **extra):
    item = dict({"identifier": identifier, "region": "eu-west-1", "engine": "postgres", "engine_version": "16.3",
                 "endpoint_address": SERVER_NAME, "endpoint_port": 5432, "connect_host": "127.0.0.1",
                 "connect_port": port}, **extra)
    return dict(ssl_usage.normalize_target(item), aws_error=None)


# -- connect_timeout ---------------------------------------------------------------------------------

def test_connect_timeout_bounds_the_tcp_connection_not_the_answer(black_hole):
    result = tls_probe.probe_endpoint(SERVER_NAME, 5432, "postgres", connect_host="127.0.0.1", connect_port=black_hole,
                                      timeout=600, connect_timeout=0.3)
    assert result["reachable"] is False
    assert result["error"] == "timed out after 0.3s connecting to 127.0.0.1:%d (connect_timeout)" % black_hole
    # Without connect_timeout (rds_ca_rotate, rds_ca_trust_verify), timeout bounds the connection, named as such.
    result = tls_probe.probe_endpoint(SERVER_NAME, 5432, "postgres", connect_host="127.0.0.1", connect_port=black_hole,
                                      timeout=0.3)
    assert result["error"] == "timed out after 0.3s connecting to 127.0.0.1:%d" % black_hole

    # A server that accepts and never answers: connect_timeout does not cut the wait for its answer.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    try:
        result = tls_probe.probe_endpoint(SERVER_NAME, 5432, "postgres", connect_host="127.0.0.1",
                                          connect_port=listener.getsockname()[1], timeout=0.6, connect_timeout=0.1)
    finally:
        listener.close()
    assert result["error"] == "timed out after 0.6s connecting to 127.0.0.1:%d or waiting for its answer" % (
        result["connect_port"])


def test_inspect_database_passes_connect_timeout_to_the_probe(black_hole):
    result = ssl_usage.inspect_database(target("dark", black_hole), {"timeout": 600, "connect_timeout": 0.2})
    assert result["probe"]["error"] == "timed out after 0.2s connecting to 127.0.0.1:%d (connect_timeout)" % black_hole
    assert result["ssl_in_use"] == "unknown"


# -- no login after an unreachable probe ---------------------------------------------------------------

def test_an_endpoint_the_probe_cannot_reach_is_not_logged_into(monkeypatch):
    logins = []

    def connect(*args, **kwargs):
        logins.append(args)
        raise OSError("no server here")
    monkeypatch.setattr(ssl_usage, "connect", connect)
    port = closed_port()
    settings = {"login_user": "monitor", "password": "s3cret-Pa55", "timeout": 5, "connect_timeout": 1}
    result = ssl_usage.inspect_database(target("gone", port), settings)
    assert logins == []
    assert len(result["errors"]) == 1 and result["errors"][0].startswith("probe: cannot connect to 127.0.0.1:%d:" % port)
    assert result["usage"]["available"] is False
    assert result["usage"]["reason"] == "not connected: the endpoint could not be reached (see probe.error)"
    assert result["ssl_in_use"] == "unknown" and result["safe_without_restart"] is False

    # A probe of another port (probe_port) says nothing about the login's port: the login is still tried.
    result = ssl_usage.inspect_database(target("other-port", closed_port(), probe_port=port), settings)
    assert len(logins) == 1
    assert result["errors"][-1].startswith("cannot connect to %s (127.0.0.1:" % SERVER_NAME)
    assert "no server here" in result["errors"][-1]


# -- bounded concurrency ---------------------------------------------------------------------------------

class Gauge(object):
    """How many are inside at once, and the most ever; the first ``wait_for`` arrivals wait for each other."""

    def __init__(self, wait_for):
        self.lock = threading.Lock()
        self.inside = 0
        self.peak = 0
        self.total = 0
        self.wait_for = wait_for
        self.full = threading.Event()

    def __enter__(self):
        with self.lock:
            self.inside += 1
            self.total += 1
            self.peak = max(self.peak, self.inside)
            if self.inside >= self.wait_for:
                self.full.set()
        self.full.wait(5)  # the first arrivals meet (never more than 5 s, so a wrong bound fails, not hangs)
        return self

    def __exit__(self, *exc):
        with self.lock:
            self.inside -= 1


def plaintext_postgres():
    """127.0.0.1 listener answering every SSLRequest with "N" (no TLS)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)

    def handle(conn):
        with conn:
            conn.settimeout(10)
            try:
                conn.recv(8)
                conn.sendall(b"N")
            except OSError:
                pass

    def accept():
        while True:
            try:
                conn, _addr = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()
    return listener


def test_probes_run_probe_workers_at_a_time_and_logins_never_more_than_max_workers(monkeypatch):
    """40 databases, probe_workers=10, max_workers=3: the gauges count, in the client, probes and logins in flight."""
    probes, logins = Gauge(wait_for=10), Gauge(wait_for=3)
    real_probe = tls_probe.probe_endpoint

    def probe_endpoint(*args, **kwargs):
        with probes:
            return real_probe(*args, **kwargs)

    def connect(*args, **kwargs):
        with logins:
            raise OSError("login refused by the test")
    monkeypatch.setattr(tls_probe, "probe_endpoint", probe_endpoint)
    monkeypatch.setattr(ssl_usage, "connect", connect)
    listener = plaintext_postgres()
    try:
        port = listener.getsockname()[1]
        targets = [target("db-%02d" % i, port) for i in range(40)]
        settings = {"login_user": "monitor", "password": "pw-not-shown", "ssl_mode": "disable", "timeout": 10,
                    "connect_timeout": 5}

        def inspect(item, login_slots):
            return ssl_usage.inspect_database(item, dict(settings, login_slots=login_slots))
        results = ssl_usage.inspect_all(targets, inspect, max_workers=3, probe_workers=10)
    finally:
        listener.close()
    assert [r["identifier"] for r in results] == ["db-%02d" % i for i in range(40)]
    for result in results:
        assert result["probe"]["reachable"] is True and result["probe"]["tls_supported"] is False
        assert result["usage"]["reason"].endswith("login refused by the test")
    assert probes.total == 40 and logins.total == 40
    assert probes.peak == 10  # probe_workers at once, never more
    assert logins.peak == 3  # max_workers at once, never more


def test_inspect_all_with_nothing_and_with_one_worker():
    assert ssl_usage.inspect_all([], None, 8, 64) == []
    seen = []

    def inspect(item, login_slots):
        with login_slots:
            seen.append(item)
        return item * 2
    assert ssl_usage.inspect_all([1, 2, 3], inspect, max_workers=1, probe_workers=1) == [2, 4, 6]
    assert seen == [1, 2, 3]


# -- the verifying context, once per trust store -----------------------------------------------------------

def _write_ca(path, name):
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import ec  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def test_the_verifying_context_is_shared_until_the_bundle_changes(tmp_path):
    bundle = tmp_path / "bundle.pem"
    _write_ca(bundle, "Test CA one")
    first = tls_probe.shared_verifying_context(str(bundle))
    assert tls_probe.shared_verifying_context(str(bundle)) is first
    assert tls_probe.trusted_names(first) == {"Test CA one"}
    _write_ca(bundle, "Test CA number two")  # rewritten in place: loaded again
    second = tls_probe.shared_verifying_context(str(bundle))
    assert second is not first and tls_probe.trusted_names(second) == {"Test CA number two"}
    assert second.verify_mode == tls_probe.ssl.CERT_REQUIRED and second.check_hostname is True


def test_a_missing_bundle_is_still_reported_by_the_probe(tmp_path):
    result = tls_probe.probe_endpoint(SERVER_NAME, closed_port(), "postgres", connect_host="127.0.0.1",
                                      ca_bundle=str(tmp_path / "absent.pem"))
    assert result["error"].startswith("cannot load the CA bundle %s" % (tmp_path / "absent.pem"))


# -- the new numbers go through the shared rules -------------------------------------------------------------

@pytest.mark.parametrize("params, problem", [
    ({"connect_timeout": 0}, "connect_timeout must be more than 0, got 0"),
    ({"connect_timeout": math.nan}, "connect_timeout must be a finite number, got nan"),
    ({"connect_timeout": 3601}, "connect_timeout must be at most 3600 (seconds), got 3601"),
    ({"probe_workers": 0}, "probe_workers must be 1 or more, got 0"),
    ({"probe_workers": 257}, "probe_workers must be at most 256 (workers), got 257"),
    ({"probe_workers": 2.5}, "probe_workers must be a whole number, got 2.5"),
])
def test_connect_timeout_and_probe_workers_are_checked_by_the_shared_rules(params, problem):
    assert check_numbers(params) == [problem]
    assert check_numbers({"connect_timeout": 0.5, "probe_workers": 256}) == []
