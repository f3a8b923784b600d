"""DescribeCertificates per region, from AWS's real bundles, and the collection's expiry arithmetic on it.

Real G1 roots differ per region, and rds-ca-2019 expired on other dates in the regions that had their own
root (me-south-1 2024-05-08, af-south-1 2024-10-26); the simulator serves each region's values from
tests/simulator/ca_catalog.json, generated from the bundles by tests/simulator/gen_ca_catalog.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from conftest import REPO
from tests.simulator import gen_ca_catalog
from tests.simulator.catalog import CA_CATALOG_PATH

SHARED = os.path.join(REPO, "..", "shared", "data", "rds-ca")
UTC = dt.timezone.utc
REGIONS = ["us-east-1", "eu-west-1", "me-south-1", "af-south-1"]

FLEET = {
    "regions": {
        "us-east-1": {"instances": [
            {"id": "east-2019", "engine": "postgres", "engine_version": "16.3", "ca": "rds-ca-2019"},
            {"id": "east-g1", "engine": "postgres", "engine_version": "16.3", "ca": "rds-ca-rsa2048-g1"}]},
        "eu-west-1": {"instances": [
            {"id": "west-g1", "engine": "postgres", "engine_version": "16.3", "ca": "rds-ca-rsa2048-g1"}]},
        "me-south-1": {"instances": [
            {"id": "me-2019", "engine": "postgres", "engine_version": "16.3", "ca": "rds-ca-2019"}]},
        "af-south-1": {"instances": [
            {"id": "af-2019", "engine": "postgres", "engine_version": "16.3", "ca": "rds-ca-2019"}]},
    },
}


def _shared(name: str) -> str:
    path = os.path.join(SHARED, name)
    if not os.path.exists(path):
        pytest.skip(f"real AWS bundle {path} is not available on this machine")
    return path


def _roots(path: str) -> dict[str, x509.Certificate]:
    with open(path, "rb") as handle:
        certs = x509.load_pem_x509_certificates(handle.read().replace(b"\r\n", b"\n"))
    return {c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value: c for c in certs}


@pytest.fixture()
def sim(simulator):
    simulator.load(FLEET)
    return simulator


def _served(sim, region: str) -> dict[str, dict]:
    return {c["CertificateIdentifier"]: c for c in sim.client(region=region).describe_certificates()["Certificates"]}


def test_us_east_1_and_eu_west_1_serve_their_own_g1_roots(sim):
    east, west = _served(sim, "us-east-1"), _served(sim, "eu-west-1")
    assert east["rds-ca-rsa2048-g1"]["Thumbprint"].startswith("2fa77ef8")
    assert west["rds-ca-rsa2048-g1"]["Thumbprint"].startswith("6063e7c0")
    for ca_id in ("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"):
        assert east[ca_id]["Thumbprint"] != west[ca_id]["Thumbprint"], ca_id
        assert east[ca_id]["CertificateArn"] == f"arn:aws:rds:us-east-1::cert:{ca_id}"


def test_thumbprints_and_dates_are_those_of_the_real_bundles(sim):
    g1 = _roots(_shared("global-bundle.pem"))
    old = _roots(_shared("global-bundle.2024-06.121certs-with-rds-ca-2019.crlf.pem"))
    kinds = {"rds-ca-rsa2048-g1": "RSA2048", "rds-ca-rsa4096-g1": "RSA4096", "rds-ca-ecc384-g1": "ECC384"}
    for region in REGIONS:
        served = _served(sim, region)
        expected = {ca_id: g1[f"Amazon RDS {region} Root CA {kind} G1"] for ca_id, kind in kinds.items()}
        expected["rds-ca-2019"] = old.get(f"Amazon RDS {region} Root CA") or old["Amazon RDS Root 2019 CA"]
        assert set(served) == set(expected), region
        for ca_id, root in expected.items():
            assert served[ca_id]["Thumbprint"] == root.fingerprint(hashes.SHA1()).hex(), (region, ca_id)
            assert served[ca_id]["ValidFrom"] == root.not_valid_before_utc, (region, ca_id)
            assert served[ca_id]["ValidTill"] == root.not_valid_after_utc, (region, ca_id)
    assert _served(sim, "me-south-1")["rds-ca-2019"]["ValidTill"].date() == dt.date(2024, 5, 8)
    assert _served(sim, "af-south-1")["rds-ca-2019"]["ValidTill"].date() == dt.date(2024, 10, 26)


def test_the_committed_catalog_is_what_the_generator_makes_of_the_bundles(tmp_path):
    _shared("global-bundle.pem")
    _shared("global-bundle.2024-06.121certs-with-rds-ca-2019.crlf.pem")
    out = tmp_path / "catalog.json"
    assert gen_ca_catalog.main(["--data-dir", SHARED, "--output", str(out)]) == 0
    with open(CA_CATALOG_PATH, encoding="utf-8") as handle:
        committed = json.load(handle)
    assert json.loads(out.read_text(encoding="utf-8")) == committed


def test_a_region_outside_the_catalog_gets_the_us_west_2_values(simulator):
    simulator.load({"regions": {"eu-west-9": {"instances": []}, "us-west-2": {"instances": []}}})
    assert _served(simulator, "eu-west-9") == {
        ca_id: {**cert, "CertificateArn": cert["CertificateArn"].replace("us-west-2", "eu-west-9")}
        for ca_id, cert in _served(simulator, "us-west-2").items()}


def test_instance_certificate_details_are_capped_by_the_regions_ca(sim):
    me = sim.client(region="me-south-1").describe_db_instances(DBInstanceIdentifier="me-2019")["DBInstances"][0]
    assert me["CertificateDetails"]["ValidTill"] <= dt.datetime(2024, 5, 8, 21, 48, 27, tzinfo=UTC)


def _facts(sim, **args) -> dict[str, dict]:
    module_args = {"regions": REGIONS, "endpoint_url": "{{ sim_endpoint_url }}", "target_ca": "rds-ca-ecc384-g1", **args}
    plays = [{"hosts": "localhost", "gather_facts": False,
              "tasks": [{"name": "Inventory", "register": "inventory", "rdsca.rotation.rds_ca_facts": module_args}],
              "save": ["inventory"]}]
    result = sim.run_playbook(plays)
    inventory = result.task("inventory")
    assert not inventory.get("failed"), inventory.get("msg")
    return {d["identifier"]: d for d in inventory["databases"]}


def _days(valid_till: dt.datetime, now: dt.datetime) -> int:
    return int((valid_till - now).total_seconds() // 86400)


def test_rds_ca_facts_expiry_arithmetic_uses_each_regions_dates(sim):
    catalog = json.load(open(CA_CATALOG_PATH, encoding="utf-8"))["regions"]  # pylint: disable=consider-using-with

    def till(region, ca_id):
        return dt.datetime.fromisoformat(catalog[region][ca_id]["valid_till"])

    now = dt.datetime.now(UTC)
    dbs = _facts(sim)
    # rds-ca-2019 ended on three different dates.
    for db_id, region in (("east-2019", "us-east-1"), ("me-2019", "me-south-1"), ("af-2019", "af-south-1")):
        fact = dbs[db_id]
        assert dt.datetime.fromisoformat(fact["ca_valid_till"]) == till(region, "rds-ca-2019"), db_id
        assert fact["ca_expired"] is True and fact["reason"] == "ca_expired", db_id
        assert abs(fact["ca_days_left"] - _days(till(region, "rds-ca-2019"), now)) <= 1, db_id
    assert dbs["me-2019"]["ca_days_left"] < dbs["east-2019"]["ca_days_left"] < dbs["af-2019"]["ca_days_left"]
    # The G1 root of eu-west-1 ends five days before us-east-1's: a threshold between them splits the two.
    east_till, west_till = till("us-east-1", "rds-ca-rsa2048-g1"), till("eu-west-1", "rds-ca-rsa2048-g1")
    assert west_till < east_till - dt.timedelta(days=3)
    assert dt.datetime.fromisoformat(dbs["west-g1"]["ca_valid_till"]) == west_till
    assert dt.datetime.fromisoformat(dbs["east-g1"]["ca_valid_till"]) == east_till
    threshold = _days(west_till, now) + 1
    assert _days(east_till, now) > threshold + 1
    flagged = _facts(sim, expiring_within_days=threshold)
    assert "west-g1" in flagged and flagged["west-g1"]["reason"] == "ca_expires_soon"
    assert "east-g1" not in flagged
