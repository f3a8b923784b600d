"""Synthetic results of rds_ca_facts, rds_ssl_usage and rds_ca_rotate for N databases, shaped as the modules
return them, and the playbook variables (rdsca_dbs, rdsca_rotations...) the report task passes to
rdsca.rotation.run_report. test_report.py checks the keys against each module's RETURN documentation; for
rds_ca_facts, tests/integration/test_rds_ca_facts.py checks a real run against the simulator has exactly
those keys, so the synthetic entries have the real shape."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

OLD, TARGET, RSA4096, ECC = "rds-ca-2019", "rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"
VALID_TILL = {OLD: "2024-08-22T17:08:50+00:00", TARGET: "2061-05-20T17:49:12+00:00",
              RSA4096: "2121-05-20T17:49:12+00:00", ECC: "2121-05-20T17:49:12+00:00"}
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
ENGINES = (("postgres", "16.3", True), ("postgres", "13.15", False), ("mysql", "8.0.36", True),
           ("mariadb", "10.11.8", True), ("aurora-postgresql", "15.4", True), ("aurora-mysql", "8.0.mysql_aurora.3.05.2", True),
           ("docdb", "5.0.0", None))
ENVIRONMENTS = ("production", "production", "staging", "dev", None)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def facts_database(i: int, rng: random.Random, name: str | None = None) -> dict[str, Any]:
    """One rds_ca_facts databases[] entry (every key of its RETURN)."""
    region = REGIONS[i % len(REGIONS)]
    engine, version, without_restart = ENGINES[rng.randrange(len(ENGINES))]
    ca = rng.choice((OLD, OLD, TARGET, RSA4096, ECC, "rds-ca-rsa2048-g1"))
    identifier = name or "db-%d" % (i + 1)
    till = datetime.fromisoformat(VALID_TILL[ca])
    if ca == TARGET and i % 7 == 0:   # a spread of days left for the chart (a custom CA expiring sooner)
        till = NOW + timedelta(days=rng.randrange(10, 900))
    days = (till - NOW).days
    supported = engine != "docdb"
    needs = supported and ca != TARGET
    would_restart = "unknown" if without_restart is None else (not without_restart)
    env = ENVIRONMENTS[i % len(ENVIRONMENTS)]
    cluster = engine.startswith("aurora")
    return {
        "identifier": identifier, "arn": "arn:aws:rds:%s:%s:db:%s" % (region, "123456789012" if i % 3 else "210987654321", identifier),
        "region": region, "engine": engine, "engine_version": version, "engine_supported": supported,
        "instance_class": "db.t3.micro", "status": "available", "multi_az": False,
        "cluster_id": identifier + "-cluster" if cluster else None, "cluster_type": "aurora" if cluster else None,
        "cluster_role": "writer" if cluster else None, "cluster_writer": True if cluster else None,
        "read_replica_source": None, "read_replicas": [],
        "endpoint_address": "%s.c1fd162ee33d3.%s.rds.amazonaws.com" % (identifier, region), "endpoint_port": 5432,
        "current_ca": ca, "ca_valid_till": till.isoformat(), "ca_days_left": days, "ca_expired": days < 0,
        "certificate_valid_till": till.isoformat(), "days_left": days, "pending_ca": None,
        "pending_maintenance": ({"action": "ca-certificate-rotation", "description": "Certificate rotation",
                                 "auto_applied_after": "2027-01-10T00:00:00+00:00", "forced_apply": None,
                                 "current_apply_date": "2027-01-10T00:00:00+00:00", "opt_in_status": None}
                                if needs and i % 11 == 0 else None),
        "rotation_without_restart": "unknown" if without_restart is None else without_restart,
        "would_restart": would_restart, "supported_cas": [OLD, TARGET, RSA4096, ECC] if supported else None,
        "target_ca_supported": (False if i % 97 == 5 else True) if supported else "unknown",
        "tags": {"Environment": env} if env else {}, "environment": env, "needs_rotation": needs,
        "reason": ("unsupported_engine" if not supported else "already_on_target" if ca == TARGET
                   else "ca_expired" if days < 0 else "not_on_target_ca"),
        "account": "123456789012" if i % 3 else "210987654321", "account_alias": None,
        "label": "%s/%s" % (region, identifier),
    }


def usage_database(db: dict[str, Any], i: int) -> dict[str, Any]:
    """One rds_ssl_usage databases[] entry (the keys the report reads, all in its RETURN)."""
    reachable = i % 4 != 0
    return {
        "identifier": db["identifier"], "region": db["region"], "engine": db["engine"], "engine_version": db["engine_version"],
        "status": "available", "endpoint_address": db["endpoint_address"], "endpoint_port": db["endpoint_port"],
        "current_ca": db["current_ca"],
        "probe": {"reachable": reachable, "tls_supported": reachable, "presented_ca": db["current_ca"] if reachable else None,
                  "verified": (db["current_ca"] != OLD) if reachable else None, "verify_error": None if reachable else None,
                  "error": None if reachable else "probe: cannot connect: Connection refused"},
        "ssl_in_use": "yes" if i % 5 == 0 else "unknown", "ssl_in_use_reason": "sessions seen" if i % 5 == 0 else "no credentials",
        "ssl_enforced": i % 2 == 0, "ssl_clients": ([{"user": "app", "client_address": "10.0.0.%d" % (i % 250),
                                                      "application_name": "orders-api"}] if i % 5 == 0 else []),
        "safe_without_restart": False, "error": None if reachable else "probe: cannot connect: Connection refused",
    }


def playbook_databases(n: int, seed: int = 7, names: list[str] | None = None) -> list[dict[str, Any]]:
    """rdsca_dbs: rds_ca_facts databases with the label, environment and phase discover.yml adds."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        db = facts_database(i, rng, names[i] if names and i < len(names) else None)
        env = (db["environment"] or "").lower()
        phase = ("unsupported" if not db["engine_supported"] else "staging" if env == "staging"
                 else "production" if env == "production" else "other")
        out.append(dict(db, label="%s/%s" % (db["region"], db["identifier"]), phase=phase))
    return out


def rotate_result(db: dict[str, Any], i: int, batch: int, start: datetime) -> dict[str, Any]:
    """One rds_ca_rotate databases[] entry."""
    needs = db["needs_rotation"]
    if not needs:
        status, action, reason = "unchanged", "none", "already on %s" % TARGET
    elif db["would_restart"] is True:
        status, action, reason = "scheduled", "schedule", "%s %s cannot rotate its certificate without a restart" % (
            db["engine"], db["engine_version"])
    elif i % 53 == 0:
        status, action, reason = "failed", "rotate", "ModifyDBInstance failed"
    else:
        status, action, reason = "rotated", "rotate", None
    seconds = 40.0 + (i % 9) * 5
    return {
        "identifier": db["identifier"], "region": db["region"], "label": db["label"], "kind": "instance", "arn": db["arn"],
        "account": db.get("account"), "account_alias": db.get("account_alias"),
        "engine": db["engine"], "engine_version": db["engine_version"], "cluster_id": db["cluster_id"],
        "cluster_role": db["cluster_role"], "members": [db["identifier"]], "status": status, "action": action,
        "changed": status in ("rotated", "scheduled"), "reason": reason,
        "error": {"message": "throttled", "error_code": "Throttling", "operation": "ModifyDBInstance"} if status == "failed" else None,
        "target_ca": TARGET, "previous_ca": db["current_ca"], "previous_pending_ca": None,
        "current_ca": TARGET if status == "rotated" else db["current_ca"], "pending_ca": TARGET if status == "scheduled" else None,
        "would_restart": db["would_restart"], "rotation_without_restart": db["rotation_without_restart"], "apply": "immediately",
        "statuses_seen": ["modifying", "available"] if status == "rotated" else [], "confirmed": True if status == "rotated" else None,
        "blocked_by": None, "verification": None, "rollback": None, "notes": [],
        "started_at": (start + timedelta(seconds=batch * 300)).strftime("%Y-%m-%dT%H:%M:%SZ") if action != "none" else None,
        "finished_at": (start + timedelta(seconds=batch * 300 + seconds)).strftime("%Y-%m-%dT%H:%M:%SZ") if action != "none" else None,
        "duration_seconds": seconds if action != "none" else None, "batch": batch,
    }


def settings(report_dir: str = "/tmp/reports", **extra: Any) -> dict[str, Any]:
    cfg = {"run_id": "20261201T120000Z", "started_at": "2026-12-01T12:00:00Z", "started_epoch": NOW.timestamp(),
           "target_ca": TARGET, "report_dir": report_dir, "environment_tag": "Environment", "phase": "all",
           "clients": "rds_clients", "client_trust_update": True, "check_mode": False}
    cfg.update(extra)
    return cfg


def facts_before(dbs: list[dict[str, Any]]) -> dict[str, Any]:
    regions = sorted(set(db["region"] for db in dbs))
    return {"changed": False, "regions_queried": regions, "databases": [], "failed_regions": [],
            "regions": dict((r, {"region": r, "default_ca_for_new_launches": TARGET, "target_ca_available": True,
                                 "counts": {"databases": sum(1 for db in dbs if db["region"] == r)}}) for r in regions)}


def audit_input(n: int, **kw: Any) -> dict[str, Any]:
    dbs = playbook_databases(n, **kw)
    return {"kind": "audit", "check_mode": False, "settings": settings(), "databases": dbs, "facts_before": facts_before(dbs),
            "usage": {"databases": [usage_database(db, i) for i, db in enumerate(dbs)]},
            "warnings": ["%d database(s) in neither a staging nor a production environment are left alone: %s"
                         % (sum(1 for d in dbs if d["phase"] == "other"), ", ".join(d["label"] for d in dbs if d["phase"] == "other"))],
            "steps": [{"name": "databases and TLS usage", "status": "ok", "note": "%d databases" % n,
                       "started_at": "2026-12-01T12:00:00Z", "finished_at": "2026-12-01T12:00:09Z", "seconds": 9.0}]}


def rotate_input(n: int, check: bool = False, batch_size: int = 100, **kw: Any) -> dict[str, Any]:
    dbs = playbook_databases(n, **kw)
    start = NOW + timedelta(seconds=30)
    rotations: dict[str, Any] = {}
    for i, db in enumerate(db for db in dbs if db["phase"] in ("staging", "production")):
        record = rotations.setdefault(db["phase"], {"databases": [], "errors": [], "failures": [], "halted_after_batch": None})
        batch = 1 + len(record["databases"]) // batch_size
        record["databases"].append(rotate_result(db, i, batch, start if db["phase"] == "staging" else start + timedelta(seconds=600)))
    data = audit_input(n, **kw)
    data.update({"kind": "rotate", "check_mode": check, "settings": settings(check_mode=check), "rotations": rotations,
                 "gate": {"passed": True, "approval": "none", "checks": [{"check": "staging rotated", "ok": True, "detail": "all"}]}})
    return data
