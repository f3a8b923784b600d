"""DocumentDB and Neptune through the same modules (issue 17): inventory, plan, restart parameter, verification."""

from __future__ import annotations

import datetime

from ansible_collections.rdsca.rotation.plugins.module_utils import inventory
from ansible_collections.rdsca.rotation.plugins.module_utils import rotation

OLD = "rds-ca-2019"
RSA2048 = "rds-ca-rsa2048-g1"
ECC384 = "rds-ca-ecc384-g1"
REGION = "us-east-1"
NOW = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
CERTIFICATES = {
    OLD: {"identifier": OLD, "valid_till": "2024-08-22T17:08:50+00:00", "expired": True},
    RSA2048: {"identifier": RSA2048, "valid_till": "2061-05-24T22:59:00+00:00", "expired": False},
    ECC384: {"identifier": ECC384, "valid_till": "2121-05-24T23:06:59+00:00", "expired": False},
}
# As the simulator's catalogs (and DocumentDB's DBEngineVersion) report them: a new certificate needs a reboot.
VERSIONS = [
    {"Engine": "docdb", "EngineVersion": "5.0.0", "SupportsCertificateRotationWithoutRestart": False,
     "SupportedCACertificateIdentifiers": [OLD, RSA2048, ECC384]},
    {"Engine": "neptune", "EngineVersion": "1.3.2.1", "SupportsCertificateRotationWithoutRestart": False,
     "SupportedCACertificateIdentifiers": [OLD, RSA2048]},
]


def _instance(ident, engine, version, cluster, port):
    domain = "docdb" if engine == "docdb" else "neptune"
    return {"DBInstanceIdentifier": ident, "DBInstanceArn": "arn:aws:rds:%s:111111111111:db:%s" % (REGION, ident),
            "Engine": engine, "EngineVersion": version, "DBInstanceStatus": "available", "DBClusterIdentifier": cluster,
            "CACertificateIdentifier": OLD, "CertificateDetails": {"CAIdentifier": OLD, "ValidTill": "2024-08-22T17:08:50Z"},
            "PreferredMaintenanceWindow": "sun:05:00-sun:05:30",
            "Endpoint": {"Address": "%s.cabc.%s.%s.amazonaws.com" % (ident, REGION, domain), "Port": port}}


def _raw():
    instances = [_instance("docs-1", "docdb", "5.0.0", "docs", 27017), _instance("docs-2", "docdb", "5.0.0", "docs", 27017),
                 _instance("graph-1", "neptune", "1.3.2.1", "graph", 8182)]
    clusters = [
        {"DBClusterIdentifier": "docs", "Engine": "docdb", "EngineVersion": "5.0.0", "Status": "available",
         "DBClusterArn": "arn:aws:rds:%s:111111111111:cluster:docs" % REGION,
         "DBClusterMembers": [{"DBInstanceIdentifier": "docs-1", "IsClusterWriter": True},
                              {"DBInstanceIdentifier": "docs-2", "IsClusterWriter": False}]},
        {"DBClusterIdentifier": "graph", "Engine": "neptune", "EngineVersion": "1.3.2.1", "Status": "available",
         "DBClusterArn": "arn:aws:rds:%s:111111111111:cluster:graph" % REGION,
         "DBClusterMembers": [{"DBInstanceIdentifier": "graph-1", "IsClusterWriter": True}]},
    ]
    return instances, clusters


def test_inventory_lists_them_as_rotatable_with_their_restart_behaviour():
    instances, clusters = _raw()
    raw = {"instances": instances, "clusters": clusters, "maintenance": [], "engine_versions": VERSIONS,
           "certificates": {"Certificates": [{"CertificateIdentifier": k, "ValidTill": v["valid_till"]}
                                             for k, v in CERTIFICATES.items()]}}
    assert inventory.engine_versions_needed(instances) == {"docdb": ["5.0.0"], "neptune": ["1.3.2.1"]}
    dbs = dict((d["identifier"], d) for d in inventory.build_region(REGION, raw, inventory.filter_options({}), NOW)[0])
    for ident, kind in (("docs-1", "docdb"), ("docs-2", "docdb"), ("graph-1", "neptune")):
        db = dbs[ident]
        assert db["engine_supported"] is True and db["cluster_type"] == kind
        assert (db["needs_rotation"], db["reason"]) == (True, "ca_expired")
        assert (db["rotation_without_restart"], db["would_restart"]) == (False, True)
    assert dbs["docs-1"]["cluster_role"] == "writer" and dbs["docs-2"]["cluster_role"] == "reader"
    assert dbs["graph-1"]["target_ca_supported"] is True
    # What the endpoint presents: DocumentDB the instance's RDS CA; Neptune, as its User Guide says, an ACM certificate.
    assert (dbs["docs-1"]["endpoint_certificate"], dbs["graph-1"]["endpoint_certificate"]) == ("rds_ca", "acm")


def _plan(ident, **overrides):
    instances, clusters = _raw()
    view = {REGION: rotation.region_view(instances, clusters, {})}
    requests, problems = rotation.normalize_entries([ident], REGION)
    assert problems == []
    (unit,), _notes, problems = rotation.resolve_units(requests, view)
    assert problems == [] and unit["kind"] == rotation.INSTANCE
    opts = {"target_ca": RSA2048, "apply": "immediately", "opt_in_type": None, "allow_restart": True,
            "on_restart_required": "skip", "certificate_rotation_restart": None, "wait": True}
    opts.update(overrides)
    caps = inventory.engine_capabilities(VERSIONS)
    return rotation.plan_unit(unit, opts, {"capabilities": caps, "certificates": CERTIFICATES, "evidence": {}})


def test_each_member_is_rotated_with_modify_db_instance_and_a_restart():
    for ident in ("docs-2", "graph-1"):
        plan = _plan(ident)
        assert plan["action"] == rotation.ROTATE and plan["would_restart"] is True and plan["problems"] == []
        assert plan["call"] == {"op": "modify_instance", "region": REGION, "identifier": ident, "ca": RSA2048,
                                "apply_immediately": True, "restart": None}
    assert _plan("docs-2", allow_restart=False)["action"] == rotation.SKIP


def test_certificate_rotation_restart_is_never_sent_to_neptune():
    plan = _plan("graph-1", certificate_rotation_restart=True)
    assert plan["call"]["restart"] is None and "CertificateRotationRestart is not sent" in plan["notes"][-1]
    # Not sent, so it forces nothing: the restart comes from the engine version alone.
    global VERSIONS  # pylint: disable=global-statement
    saved = VERSIONS
    try:
        # A version that does not report SupportsCertificateRotationWithoutRestart (Neptune's own API has no such field).
        VERSIONS = [dict((k, v) for k, v in item.items() if k != "SupportsCertificateRotationWithoutRestart")
                    for item in saved]
        assert _plan("graph-1", certificate_rotation_restart=True)["would_restart"] == "unknown"
        assert _plan("docs-1", certificate_rotation_restart=True)["would_restart"] is True
    finally:
        VERSIONS = saved
    assert _plan("docs-1", certificate_rotation_restart=True)["call"]["restart"] is True
    refused = _plan("graph-1", certificate_rotation_restart=False)
    assert "has no CertificateRotationRestart" in refused["problems"][0]


def test_verification_accepts_neptune_acm_certificate_but_not_elsewhere():
    acm = {"engine": "neptune", "ca_id": None, "issuer": "Amazon RSA 2048 M02", "verified": False,
           "hostname_matches": True, "error": "certificate verify failed: unable to get local issuer certificate"}
    state, note = rotation.verdict(acm, RSA2048)
    assert state == "ok" and "Amazon Trust Services" in note and "does not change" in note
    # The same certificate on a DocumentDB endpoint, or one for another name, is no proof.
    assert rotation.verdict(dict(acm, engine="docdb"), RSA2048)[0] == "retry"
    assert rotation.verdict(dict(acm, hostname_matches=False), RSA2048)[0] == "retry"
    assert rotation.verdict(dict(acm, issuer="Some Other CA"), RSA2048)[0] == "retry"
    # A Neptune endpoint that presents an RDS CA chain is verified like any other.
    assert rotation.verdict({"engine": "neptune", "ca_id": OLD, "verified": True}, RSA2048)[0] == "retry"
    assert rotation.verdict({"engine": "neptune", "ca_id": RSA2048, "verified": True}, RSA2048) == ("ok", None)
