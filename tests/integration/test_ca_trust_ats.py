"""The ca_trust role installs the Amazon Trust Services roots for clients of RDS Proxy endpoints (issue 17): from a
PEM file on the controller, by pinned fingerprint; the simulator's stand-in root only with allow_unpinned, and then a
client holding the role's bundle file verifies the proxy endpoint, which the RDS bundle alone cannot."""

from __future__ import annotations

import socket
import ssl
import struct

import pytest

FLEET = {
    "regions": {"us-east-1": {
        "instances": [{"id": "orders", "engine": "postgres", "engine_version": "16.3", "ca": "rds-ca-rsa2048-g1"}],
        "proxies": [{"name": "orders-proxy", "targets": ["orders"], "linked": True}],
    }},
}


@pytest.fixture(scope="module")
def sim(simulator):
    simulator.load(FLEET)
    simulator.bundle = simulator.control("GET", "/_sim/bundle")["path"]
    simulator.ats = simulator.control("GET", "/_sim/ats-bundle")["path"]
    return simulator


def _role(sim, bundle_file, **extra):
    role_vars = {"ca_trust_bundle_src": sim.bundle, "ca_trust_regions": ["us-east-1"], "ca_trust_system_store": False,
                 "ca_trust_bundle_files": [{"path": bundle_file, "mode": "0644"}],
                 "ca_trust_amazon_trust_services": True, "ca_trust_amazon_trust_services_src": sim.ats}
    role_vars.update(extra)
    plays = [{"name": "ca_trust", "hosts": "localhost", "gather_facts": False, "vars": role_vars,
              "tasks": [{"name": "Apply the role", "ansible.builtin.include_role": {"name": "rdsca.rotation.ca_trust"}}],
              "save": ["ca_trust_report"]}]
    return sim.run_playbook(plays)


def _proxy_handshake(sim, cafile):
    info = sim.control("GET", "/_sim/proxies")["us-east-1/orders-proxy"]
    with socket.create_connection((info["host"], info["port"]), timeout=10) as raw:
        raw.sendall(struct.pack("!ii", 8, 80877103))
        assert raw.recv(1) == b"S"
        with ssl.create_default_context(cafile=cafile).wrap_socket(raw, server_hostname=info["address"]) as tls:
            return dict(item[0] for item in tls.getpeercert()["issuer"])["commonName"]


def test_a_stand_in_root_is_refused_as_an_impersonation_and_nothing_is_written(sim, tmp_path):
    bundle_file = tmp_path / "bundle.pem"
    result = _role(sim, str(bundle_file))
    assert result.rc != 0
    assert "named like an Amazon Trust Services root but is not the published certificate" in result.stdout
    assert not bundle_file.exists()


def test_the_roots_are_installed_and_clients_then_verify_the_proxy(sim, tmp_path):
    bundle_file = tmp_path / "bundle.pem"
    with pytest.raises(ssl.SSLCertVerificationError):
        _proxy_handshake(sim, sim.bundle)  # the RDS bundle alone: the proxy's ACM chain does not verify
    result = _role(sim, str(bundle_file), ca_trust_amazon_trust_services_allow_unpinned=True)
    assert result.rc == 0, result.stdout[-4000:] + result.stderr[-2000:]
    text = bundle_file.read_text()
    assert "BEGIN CERTIFICATE" in text
    assert _proxy_handshake(sim, str(bundle_file)) == "Amazon RSA 2048 M02"
