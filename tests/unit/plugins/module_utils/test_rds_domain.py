# -*- coding: utf-8 -*-
# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""rds_domain: the RDS knowledge, checked against AWS's real bundles and describe outputs.

The real files live in /work/shared/data/rds-ca (RDSCA_SHARED_DATA); tests that need one skip,
saying which, when it is absent.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re

import pytest

from ansible_collections.rdsca.rotation.plugins.module_utils import inventory
from ansible_collections.rdsca.rotation.plugins.module_utils import rds_domain as domain

SHARED_DATA = os.environ.get("RDSCA_SHARED_DATA", "/work/shared/data/rds-ca")
GLOBAL_BUNDLE = os.path.join(SHARED_DATA, "global-bundle.pem")
OLD_BUNDLE = os.path.join(SHARED_DATA, "global-bundle.2024-06.121certs-with-rds-ca-2019.crlf.pem")
DESCRIBE_CERTIFICATES = os.path.join(SHARED_DATA, "describe-certificates.us-west-2.json")
ENGINE_VERSIONS = os.path.join(SHARED_DATA, "describe-db-engine-versions.postgres-default-only.json")
UTC = datetime.timezone.utc


def _real(path):
    if not os.path.exists(path):
        pytest.skip("real RDS data %s not present (set RDSCA_SHARED_DATA to its directory)" % path)
    return path


def _json(path):
    with open(_real(path), encoding="utf-8") as handle:
        return json.load(handle)


def _certs(path):
    x509 = pytest.importorskip("cryptography.x509")
    with open(_real(path), "rb") as handle:
        return x509.load_pem_x509_certificates(handle.read().replace(b"\r\n", b"\n"))


def _cn(name):
    from cryptography.x509.oid import NameOID

    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return attrs[0].value if attrs else None


# -- the CA-name classifier, on AWS's real certificates ------------------------------------------

@pytest.mark.parametrize("path", [GLOBAL_BUNDLE, OLD_BUNDLE])
def test_every_real_certificate_name_is_classified(path):
    for cert in _certs(path):
        for cn in (_cn(cert.subject), _cn(cert.issuer)):
            found = domain.ca_from_name(cn)
            assert found is not None, cn
            assert found["ca_identifier"] in domain.KNOWN_CAS, cn
            region = re.search(r" ([a-z]{2,4}(?:-[a-z]+)+-\d+) ", cn)
            assert found["region"] == (region.group(1) if region else None), cn
            assert domain.REGION_PATTERN.match(found["region"] or "us-east-1"), cn
        # A self-signed certificate is a root, anything else an intermediate.
        assert domain.ca_from_name(_cn(cert.subject))["role"] == ("root" if cert.subject == cert.issuer
                                                                  else "intermediate")


def test_the_real_bundles_hold_three_generations_apart():
    """G1 roots expire after 2060, every other certificate (2019 generation) in 2024-2025: the classifier agrees."""
    for cert in _certs(OLD_BUNDLE):
        found = domain.ca_from_name(_cn(cert.subject))
        if cert.not_valid_after_utc.year > 2060:
            assert found["ca_identifier"] in domain.CURRENT_CAS
        else:
            assert found["ca_identifier"] == domain.CA_2019, _cn(cert.subject)
            assert cert.not_valid_before_utc.year == 2019


def test_regional_root_ca_names_are_2019_generation():
    """'Amazon RDS <region> Root CA' and '... <region> CA' (af/eu/me-south-1) are 2019 certificates."""
    seen = set()
    for cert in _certs(OLD_BUNDLE):
        cn = _cn(cert.subject)
        if re.match(r"^Amazon RDS [a-z-]+-\d (Root )?CA$", cn):
            seen.add(cn.split()[2])
            assert cert.not_valid_before_utc.year == 2019
            assert domain.ca_from_name(cn)["ca_identifier"] == domain.CA_2019
            assert domain.ca_from_name(cn, [_cn(cert.issuer)])["ca_identifier"] == domain.CA_2019
    assert seen == set(domain.REGIONAL_ROOT_2019_REGIONS)


def test_amazon_rds_root_ca_is_the_2015_root():
    """'Amazon RDS Root CA' is in no real bundle since 2020 (the 2015 root): neither 2019 nor G1."""
    names = set(_cn(c.subject) for c in _certs(OLD_BUNDLE)) | set(_cn(c.subject) for c in _certs(GLOBAL_BUNDLE))
    assert "Amazon RDS Root CA" not in names
    found = domain.ca_from_name("Amazon RDS Root CA")
    assert (found["ca_identifier"], found["region"], found["role"]) == (domain.CA_2015, None, "root")
    # Its intermediates ("Amazon RDS us-east-1 CA") outside the three 2019-root regions.
    assert domain.ca_from_name("Amazon RDS us-east-1 CA")["ca_identifier"] == domain.CA_2015
    assert domain.ca_from_name("Amazon RDS us-east-1 CA", ["Amazon RDS Root CA"])["ca_identifier"] == domain.CA_2015
    assert domain.ca_from_name("Amazon RDS xx-new-1 CA", ["Amazon RDS xx-new-1 Root CA"])["ca_identifier"] == domain.CA_2019


def test_subordinate_ca_belongs_to_its_real_root():
    """RDS server certificates are issued by 'Amazon RDS <region> Subordinate CA <label> G1.A.1', signed by
    the region's G1 root: the subordinate's CA identifier is its root's, for every real G1 root."""
    roots = [_cn(c.subject) for c in _certs(GLOBAL_BUNDLE)]
    assert len(roots) == 108
    for root in roots:
        subordinate = root.replace(" Root CA ", " Subordinate CA ") + ".A.1"
        found = domain.ca_from_name(subordinate)
        expected = domain.ca_from_name(root)
        assert found["ca_identifier"] == expected["ca_identifier"], subordinate
        assert (found["region"], found["variant"]) == (expected["region"], expected["variant"])
        assert found["role"] == "intermediate" and expected["role"] == "root"
        assert domain.presented_ca(subordinate, [root])["ca_identifier"] == expected["ca_identifier"]


def test_describe_certificates_identifiers_match_the_certificates_by_thumbprint():
    """DescribeCertificates' Thumbprint is the SHA-1 of the root: its name must classify to that identifier."""
    from cryptography.hazmat.primitives.serialization import Encoding

    by_sha1 = {}
    for cert in _certs(OLD_BUNDLE) + _certs(GLOBAL_BUNDLE):
        by_sha1[hashlib.sha1(cert.public_bytes(Encoding.DER)).hexdigest()] = _cn(cert.subject)
    response = _json(DESCRIBE_CERTIFICATES)
    for item in response["Certificates"]:
        name = by_sha1[item["Thumbprint"]]
        assert domain.ca_from_name(name)["ca_identifier"] == item["CertificateIdentifier"], name
        if item["CertificateIdentifier"] in domain.CURRENT_CAS:
            assert name == domain.g1_root_common_name("us-west-2", item["CertificateIdentifier"])
    assert response["DefaultCertificateForNewLaunches"] == domain.DEFAULT_TARGET_CA
    assert set(c["CertificateIdentifier"] for c in response["Certificates"]) <= set(domain.KNOWN_CAS)


@pytest.mark.parametrize("name", [None, "", "Amazon RDS", "Amazon Root CA 1", "DigiCert Global Root G2",
                                  "Amazon RDS us-east-1 Root CA RSA1024 G1", "orders.c0ffee.us-east-1.rds.amazonaws.com"])
def test_other_names_are_not_rds_cas(name):
    assert domain.ca_from_name(name) is None


# -- engines and restarts, on real DescribeDBEngineVersions output ---------------------------------

def test_real_engine_version_rotates_without_restart():
    versions = _json(ENGINE_VERSIONS)["DBEngineVersions"]
    capabilities = inventory.engine_capabilities(versions)
    for item in versions:
        cap = capabilities[(item["Engine"], item["EngineVersion"])]
        assert domain.rotation_without_restart(cap) is True
        assert domain.would_restart(domain.rotation_without_restart(cap)) is False
        # A restart-free version never restarts, whatever CertificateRotationRestart says.
        assert domain.would_restart(True, certificate_rotation_restart=True) is False
        assert domain.major_version(item["EngineVersion"]) == int(item["MajorEngineVersion"])
        assert domain.engine_default(item["Engine"], item["EngineVersion"]) == "0"  # PostgreSQL 13: off
        assert set(item["SupportedCACertificateIdentifiers"]) <= set(domain.KNOWN_CAS)
        assert domain.engine_supported(item["Engine"]) and item["Engine"] in domain.KNOWN_ENGINES


def test_engine_version_restart_cases():
    item = _json(ENGINE_VERSIONS)["DBEngineVersions"][0]
    restarting = dict(item, EngineVersion="12.22", SupportsCertificateRotationWithoutRestart=False)
    silent = dict(item, EngineVersion="11.1")
    del silent["SupportsCertificateRotationWithoutRestart"]
    caps = inventory.engine_capabilities([restarting, silent])
    restart = domain.rotation_without_restart(caps[("postgres", "12.22")])
    unknown = domain.rotation_without_restart(caps[("postgres", "11.1")])
    assert (restart, unknown) == (False, domain.UNKNOWN)
    assert domain.rotation_without_restart(None) == domain.UNKNOWN
    assert domain.would_restart(restart) is True
    assert domain.would_restart(unknown) == domain.UNKNOWN
    assert domain.would_restart(unknown, certificate_rotation_restart=True) is True
    assert domain.would_restart(restart, certificate_rotation_restart=False) is False
    assert domain.would_restart(restart, changes_ca=False) is False
    assert [domain.restart_category(v) for v in (True, False, domain.UNKNOWN, None)] == [
        "restart", "no_restart", "unknown", "unknown"]


@pytest.mark.parametrize("engine, version, parameter, default", [
    ("postgres", "13.4", "rds.force_ssl", "0"),
    ("postgres", "14.12", "rds.force_ssl", "0"),
    ("postgres", "15.2", "rds.force_ssl", "1"),
    ("postgres", "16.3", "rds.force_ssl", "1"),
    ("aurora-postgresql", "15.4", "rds.force_ssl", "1"),
    ("aurora-postgresql", "14.6", "rds.force_ssl", "0"),
    ("postgres", None, "rds.force_ssl", None),
    ("mysql", "8.0.35", "require_secure_transport", "0"),
    ("mariadb", "10.11.6", "require_secure_transport", "0"),
    ("aurora-mysql", "8.0.mysql_aurora.3.05.2", "require_secure_transport", "0"),
    ("sqlserver-se", "15.00.4153.1.v1", "rds.force_ssl", "0"),
    ("oracle-ee", "19.0.0.0.ru-2024-01.rur-2024-01.r1", None, None),
    ("db2-se", "11.5.9.0.sb00000000.r1", None, None),
])
def test_enforcement_parameter_and_default(engine, version, parameter, default):
    assert domain.enforcement_parameter(engine) == parameter
    assert domain.engine_default(engine, version) == default


def test_engine_table_covers_every_rds_engine():
    for engine in domain.KNOWN_ENGINES:
        spec = domain.engine_spec(engine)
        assert spec is not None, engine
        assert spec.protocol in ("postgres", "mysql", "tds", "tls"), engine
        assert domain.engine_supported(engine) is not engine.startswith("custom-")
    assert [domain.cluster_kind(e) for e in ("aurora-postgresql", "aurora", "docdb", "neptune", "postgres", "mysql")] == [
        "aurora", "aurora", "docdb", "neptune", "multi_az_db_cluster", "multi_az_db_cluster"]
    assert domain.is_multi_az_cluster({"Engine": "postgres"}) and not domain.is_multi_az_cluster({"Engine": "aurora-mysql"})
    assert domain.engine_protocol("postgresql") == "postgres" and domain.engine_protocol("nosuch") is None
    assert domain.usage_kind("sqlserver-ee") is None and domain.usage_kind("aurora-mysql") == "mysql"
    assert domain.engine_supported("some-future-engine") is True


def test_statuses():
    assert domain.status_category("available") == "available"
    assert domain.status_category("modifying") == "wait"
    assert domain.status_category("some-new-status") == "wait"
    assert domain.status_category("stopped") == "skip"
    assert domain.status_category("storage-full") == "fail"
    assert "storage" in domain.status_reason("storage-full")
    assert domain.status_reason("rebooting") == "the database is rebooting"
    assert set(domain.SKIP_STATUSES) <= set(domain.NOT_RUNNING)


def test_operation_names():
    assert domain.operation_name({"op": "modify_instance"}) == "ModifyDBInstance"
    assert domain.operation_name({"op": "modify_cluster"}) == "ModifyDBCluster"
    assert domain.operation_name({"op": "apply_pending_action"}) == "ApplyPendingMaintenanceAction"
    assert domain.operation_name({"op": "other"}) == "other"


def test_time_helpers_on_real_describe_times():
    for item in _json(DESCRIBE_CERTIFICATES)["Certificates"]:
        till = domain.parse_time(item["ValidTill"])
        assert till.tzinfo is not None and domain.iso(item["ValidTill"]) == item["ValidTill"]
        assert domain.iso_z(till) == item["ValidTill"].replace("+00:00", "Z")
    now = datetime.datetime(2024, 8, 22, 17, 8, 50, tzinfo=UTC)
    assert domain.parse_time("2024-08-22T17:08:50Z") == now == domain.parse_time("2024-08-22 19:08:50+02:00")
    assert domain.parse_time(now.replace(tzinfo=None)) == now and domain.parse_time(None) is None
    assert domain.days_until(now + datetime.timedelta(days=1, hours=23), now) == 1
    assert domain.days_until(now - datetime.timedelta(hours=1), now) == -1
    assert domain.days_until(None, now) is None
    assert domain.utcnow().tzinfo is UTC and domain.now_iso().endswith("+00:00")


@pytest.mark.parametrize("in_use, enforced, samples, safe", [
    ("yes", False, 5, False), ("unknown", False, 5, False), ("no", True, 5, False),
    ("no", domain.UNKNOWN, 5, False), ("no", False, 1, False), ("no", False, 2, True),
])
def test_restart_free_verdict(in_use, enforced, samples, safe):
    assert domain.restart_free_verdict(in_use, enforced, samples, "evidence")[0] is safe
    assert domain.restart_free_verdict("no", False, 1, complete_log_window=True)[0] is True


def test_bundle_names_real_certificates_as_describe_certificates_does():
    """The bundle code path (bundle.load_bundle) uses the same classifier: each real root of the 2024 bundle
    that DescribeCertificates lists (by thumbprint) gets that CertificateIdentifier as its ca_identifier."""
    from ansible_collections.rdsca.rotation.plugins.module_utils import bundle

    with open(_real(OLD_BUNDLE), "rb") as handle:
        loaded = bundle.load_bundle(handle.read(), now=datetime.datetime(2024, 6, 1, tzinfo=UTC), target_cas=())
    by_sha1 = dict((c["sha1"], c) for c in loaded["certificates"])
    listed = _json(DESCRIBE_CERTIFICATES)["Certificates"]
    for item in listed:
        assert by_sha1[item["Thumbprint"]]["ca_identifier"] == item["CertificateIdentifier"]
    assert all(c["ca_identifier"] in domain.KNOWN_CAS for c in loaded["certificates"])


def test_documentdb_and_neptune_are_rotated_like_aurora_members_over_direct_tls():
    for engine in ("docdb", "neptune"):
        assert domain.engine_supported(engine) and domain.engine_protocol(engine) == "tls"
        # No RDS-style 0/1 enforcement parameter, no SQL session listing: rds_ssl_usage reads nothing for them.
        assert domain.enforcement_parameter(engine) is None and domain.usage_kind(engine) is None
        assert not domain.is_multi_az_cluster({"Engine": engine})
    # Neptune User Guide: one ACM wildcard certificate per account and Region, rooted at Amazon Trust Services.
    assert domain.endpoint_certificate("neptune") == domain.ACM
    assert [domain.endpoint_certificate(e) for e in ("docdb", "postgres", "aurora-mysql", None)] == [domain.RDS_CA] * 4
    # Neptune's ModifyDBInstance documents no CertificateRotationRestart; DocumentDB's and RDS's do.
    assert not domain.rotation_restart_parameter("neptune")
    assert domain.rotation_restart_parameter("docdb") and domain.rotation_restart_parameter("postgres")


@pytest.mark.parametrize("name, ats", [
    ("Amazon RSA 2048 M02", True), ("Amazon ECDSA 256 M03", True), ("Amazon Root CA 1", True),
    ("Amazon Root CA 4", True), ("Starfield Services Root Certificate Authority - G2", True),
    ("Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1", False), ("Amazon Root CA 5", False),
    ("Amazon RSA 2048 M02 evil", False), (None, False), ("", False),
])
def test_amazon_trust_services_names(name, ats):
    assert domain.amazon_trust_services_ca(name) is ats
