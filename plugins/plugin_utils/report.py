# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The run report of the audit, rotate and rollback playbooks, as data (controller side).

``build_report()`` turns what the playbook's steps registered (rds_ca_facts, rds_ssl_usage, rds_ca_rotate
results, client trust states, steps, gate, stop) into the report written as JSON, and rendered as Markdown
and HTML by ``report_render``. It decides nothing about RDS: restarts, statuses and reasons are the modules'
verdicts (rds_ca_facts ``would_restart``, rds_ca_rotate ``status``/``would_restart``/``statuses_seen``),
displayed and counted here. The filter plugins ``run_report``, ``report_html``, ``report_markdown`` and
``report_lines`` expose it to the playbooks.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Iterable

from ansible_collections.rdsca.rotation.plugins.plugin_utils import proxy_trust
from ansible_collections.rdsca.rotation.plugins.module_utils.accounts import account_of_arn
from ansible_collections.rdsca.rotation.plugins.plugin_utils.rotate_playbook import label_of, multi_account
from ansible_collections.rdsca.rotation.plugins.plugin_utils import coverage_report
from ansible_collections.rdsca.rotation.plugins.module_utils import inventory_records

IN_SCOPE_PHASES = ("staging", "production", "rollback")
PROBLEM_STATUSES = ("failed", "rolled_back", "blocked", "unverified", "not_possible")
# Statuses a change board reads as "not done, and why": the problems plus what was held back.
HELD_STATUSES = PROBLEM_STATUSES + ("skipped", "not_started")
DEFAULT_ACCOUNT = "default"
# Order of the status groups in the detail: what needs attention first.
STATUS_ORDER = ("failed", "rolled_back", "not_possible", "blocked", "unverified", "stopped", "not_started", "skipped",
                "needs_rotation", "scheduled", "rotated", "restored", "verified_only", "unchanged", "ok", "out_of_scope")


def natural_key(value: Any) -> tuple:
    """Sort key that orders the digit runs of a text as numbers: db-1, db-2, db-10, db-100."""
    parts = re.split(r"(\d+)", "" if value is None else str(value))
    return tuple(int(part) if index % 2 else part.lower() for index, part in enumerate(parts))


def status_rank(status: str) -> int:
    return STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)


def account_of(db: dict[str, Any]) -> str:
    """The account a database belongs to: its ``account`` field, else the account of its ARN, else 'default'."""
    account = db.get("account") or db.get("account_id")
    if account:
        return str(account)
    return account_of_arn(db.get("arn")) or DEFAULT_ACCOUNT


def _label(item: dict[str, Any], member: str | None = None, accounts: bool = False) -> str:
    """The label of a result item (or of its ``member``): with its account in a run over several accounts."""
    return label_of(item, accounts, member)


NOT_INVENTORIED = "unknown, not inventoried"


def failed_accounts(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """The accounts the run could not read (rds_ca_facts ``failed_accounts``): their databases are unknown."""
    out = []
    for failure in ctx["facts_before"].get("failed_accounts") or []:
        account = str(failure.get("account") or failure.get("role_arn") or "?")
        out.append({"account": account, "account_alias": failure.get("account_alias") or failure.get("alias"),
                    "role_arn": failure.get("role_arn"), "error_code": failure.get("error_code"),
                    "message": failure.get("message"), "status": NOT_INVENTORIED})
    return out


def account_summaries(ctx: dict[str, Any], rows: list[dict]) -> list[dict[str, Any]]:
    """Per account, what a change board reads first: databases, in scope, needing rotation, on the target after,
    statuses; then the accounts that could not be read (status 'unknown, not inventoried')."""
    target = ctx["settings"].get("target_ca")
    by_account: dict[str, list[dict]] = {}
    for row in rows:
        by_account.setdefault(row["account"], []).append(row)
    out = []
    for account in sorted(by_account, key=natural_key):
        mine = by_account[account]
        in_scope = [row for row in mine if row["phase"] in IN_SCOPE_PHASES]
        out.append({"account": account, "account_alias": next((r["account_alias"] for r in mine if r.get("account_alias")), None),
                    "status": "inventoried", "databases": len(mine), "in_scope": len(in_scope),
                    "needs_rotation": sum(1 for row in mine if row["before"]["needs_rotation"]),
                    "on_target_after": sum(1 for row in in_scope if row["after"]["ca"] == target) if ctx["kind"] != "audit" else None,
                    "by_status": counts(mine, lambda r: r["status"]),
                    "failures": sum(1 for row in mine if row["status"] in PROBLEM_STATUSES)})
    for failure in failed_accounts(ctx):
        out.append(dict(failure, databases=None, in_scope=None, needs_rotation=None, on_target_after=None, by_status={},
                        failures=1))
    return out


def _redacted(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings for the report: without started_epoch and check_mode, and without the accounts' external IDs."""
    out = dict((k, v) for k, v in settings.items() if k not in ("started_epoch", "check_mode"))
    if isinstance(out.get("accounts"), list):
        out["accounts"] = [dict(a, external_id="********") if isinstance(a, dict) and a.get("external_id") else a
                           for a in out["accounts"]]
    if isinstance(out.get("organization"), dict) and out["organization"].get("external_id"):
        out["organization"] = dict(out["organization"], external_id="********")
    return out


def _registered(value: Any) -> dict[str, Any]:
    """A registered task result, or {} when it is missing or was skipped."""
    return value if isinstance(value, dict) and not value.get("skipped") else {}


def _inventory(value: Any) -> dict[str, Any]:
    """A registered rds_ca_facts result with full ``databases`` whatever its ``detail`` (compact records expanded,
    summary mode's ``output_file`` read), or {} when it is missing or was skipped (issue 20)."""
    registered = _registered(value)
    return inventory_records.inventory_result(registered) if registered else {}


# -- indexes of what the steps produced -----------------------------------------------------------------------------

def index_rotations(rotations: dict[str, Any], accounts: bool = False) -> tuple[dict[str, dict], list[dict]]:
    """rds_ca_rotate results per label (each member of a cluster), and the phase errors."""
    results: dict[str, dict] = {}
    errors: list[dict] = []
    for phase, rotation in (rotations or {}).items():
        for item in rotation.get("databases") or []:
            for member in item.get("members") or [item.get("identifier")]:
                results[_label(item, member, accounts)] = dict(item, run_phase=phase)
        for error in rotation.get("errors") or []:
            errors.append({"what": "%s rotation" % phase, "label": phase, "reason": error})
    return results, errors


def index_probes(probes: dict[str, Any]) -> dict[str, dict]:
    return dict((item["label"], item) for items in (probes or {}).values() for item in items or [])


def index_client_checks(clients: list[dict]) -> dict[str, dict]:
    """Per database label, the client hosts that verified its endpoint and those that failed."""
    by_label: dict[str, dict] = {}
    for client in clients:
        for step in ("verify_staging", "verify_production"):
            for endpoint in (client["state"].get(step) or {}).get("endpoints") or []:
                entry = by_label.setdefault(endpoint["name"], {"ok": [], "failed": []})
                if endpoint.get("verified"):
                    entry["ok"].append(client["host"])
                else:
                    entry["failed"].append("%s: %s" % (client["host"], endpoint.get("verify_error") or endpoint.get("error")
                                                       or "did not verify"))
    return by_label


# -- one row per database --------------------------------------------------------------------------------------------

def row_status(ctx: dict[str, Any], db: dict[str, Any], result: dict | None) -> tuple[str, str]:
    """The row's status and reason: the module's verdict, or why the run did not reach the database."""
    kind, phase = ctx["kind"], db.get("phase")
    if kind == "audit":
        return ("needs_rotation" if db.get("needs_rotation") else "ok"), db.get("reason")
    if phase == "unsupported":
        return "out_of_scope", "engine %s is not rotated by this collection" % db.get("engine")
    if phase == "other":
        env = db.get("environment")
        return "out_of_scope", ("environment %s is neither staging nor production" % env if env
                                else "no %s tag" % ctx["settings"].get("environment_tag"))
    if result is not None:
        status = result.get("status")
        return ("restored" if kind == "rollback" and status == "rotated" else status), result.get("reason")
    if kind == "rotate" and phase == "staging" and ctx["settings"].get("phase") == "production":
        return "verified_only", "rdsca_phase=production: staging is verified, not rotated, by this run"
    halted = ((ctx["rotations"].get(phase) or {}).get("halted_after_batch"))
    if halted:
        return "not_started", "the %s rotation halted after batch %s, which had a failure or a rollback" % (phase, halted)
    stop = ctx["stop"]
    return "not_started", ("the run stopped at %s: %s" % (stop.get("step"), stop.get("reason")) if stop
                           else "not part of this run")


def row_restart(ctx: dict[str, Any], db: dict[str, Any], result: dict | None, status: str) -> dict[str, Any]:
    """What the modules said about a restart, in words: rds_ca_rotate for a database it handled, else rds_ca_facts."""
    seen = list((result or {}).get("statuses_seen") or [])
    would = db.get("would_restart")
    restarted = None
    if result is not None and status in ("rotated", "restored"):
        # No decision here: rds_ca_rotate's would_restart for the change it applied, or the reboot its polls saw.
        restarted = result.get("would_restart") is True or "rebooting" in seen
    if status in ("rotated", "restored"):
        text = ("would restart" if ctx["check"] else "restarted") if restarted else "no restart"
    elif status == "scheduled":
        text = "avoided: scheduled for the maintenance window" if would is True else "scheduled for the maintenance window"
    elif status == "skipped" and would is True:
        text = "avoided: skipped"
    else:
        text = {True: "would restart if rotated", False: "no restart needed"}.get(would, "unknown") \
            if isinstance(would, bool) else "unknown"
    return {"would_restart": would, "restarted": restarted, "text": text, "statuses_seen": seen}


def row_verification(ctx: dict[str, Any], db: dict[str, Any], result: dict | None) -> dict[str, Any]:
    label = db["label"]
    post = ctx["probes"].get(label)
    verification = (result or {}).get("verification")
    if post is not None:
        endpoint = "verified" if post.get("verified") else "failed"
        detail = "presents %s and verifies" % post.get("presented_ca") if post.get("verified") else post.get("error")
    elif verification is not None:
        endpoint = "verified" if verification.get("verified") else "failed"
        detail = verification.get("message") or ""
    elif ctx["kind"] != "audit" and db.get("phase") in IN_SCOPE_PHASES and label not in ctx["reachable"]:
        endpoint, detail = "not_verifiable", "endpoint not reachable from the controller"
    else:
        endpoint, detail = "not_checked", ""
    clients = ctx["client_checks"].get(label) or {"ok": [], "failed": []}
    return {"endpoint": endpoint, "detail": detail, "clients_ok": clients["ok"], "clients_failed": clients["failed"],
            "rollback": (result or {}).get("rollback")}


def row_ssl(use: dict[str, Any]) -> dict[str, Any]:
    probe = use.get("probe") or {}
    clients = [" ".join("" if c.get(k) is None else str(c[k]) for k in ("user", "client_address", "application_name"))
               for c in use.get("ssl_clients") or []]
    return {"in_use": use.get("ssl_in_use", "not checked"), "evidence": use.get("ssl_in_use_reason", ""),
            "enforced": use.get("ssl_enforced", "unknown"), "clients": clients,
            "presented_ca": probe.get("presented_ca"), "probe_verified": probe.get("verified"),
            "probe_error": probe.get("verify_error") or use.get("error"),
            "safe_without_restart": use.get("safe_without_restart"),
            "logs": coverage_report.log_window(use.get("log_evidence"))}


def build_row(ctx: dict[str, Any], db: dict[str, Any]) -> dict[str, Any]:
    label = db["label"]
    result = ctx["results"].get(label)
    now_db = ctx["after"].get(label, db)
    status, reason = row_status(ctx, db, result)
    predicted = bool(ctx["check"] and result is not None)
    err = (result or {}).get("error") or {}
    error = (("%s: " % err["error_code"]) if err.get("error_code") else "") + (err.get("message") or "") if err else None
    pending = db.get("pending_maintenance") or {}
    return {
        "label": label, "region": db.get("region"), "identifier": db.get("identifier"), "account": account_of(db),
        "account_alias": db.get("account_alias"), "cluster_id": db.get("cluster_id"), "cluster_role": db.get("cluster_role"),
        "engine": db.get("engine"), "engine_version": db.get("engine_version"),
        "environment": db.get("environment"), "phase": db.get("phase"), "endpoint": db.get("endpoint_address"),
        "before": {"ca": db.get("current_ca"), "pending_ca": db.get("pending_ca"), "ca_valid_till": db.get("ca_valid_till"),
                   "ca_days_left": db.get("ca_days_left"), "ca_expired": db.get("ca_expired"),
                   "needs_rotation": db.get("needs_rotation"), "reason": db.get("reason"),
                   "maintenance_apply_date": pending.get("current_apply_date") or pending.get("auto_applied_after")},
        "after": {"ca": result.get("current_ca") if predicted else now_db.get("current_ca"),
                  "pending_ca": result.get("pending_ca") if predicted else now_db.get("pending_ca"),
                  "predicted": predicted},
        "status": status, "action": (result or {}).get("action"), "reason": reason,
        "batch": (result or {}).get("batch"), "planned": bool(ctx["check"]),
        "restart": row_restart(ctx, db, result, status),
        "ssl": row_ssl(ctx["usage"].get(label) or {}),
        "verification": row_verification(ctx, db, result),
        "timing": {"started_at": (result or {}).get("started_at"), "finished_at": (result or {}).get("finished_at"),
                   "seconds": (result or {}).get("duration_seconds")},
        "error": error,
    }


# -- clients, regions, failures -------------------------------------------------------------------------------------

def build_client(ctx: dict[str, Any], client: dict[str, Any]) -> dict[str, Any]:
    state, host = client["state"], client["host"]
    audit, install = state.get("audit"), state.get("install")
    lacked: list[str] = []
    for names in ((audit or {}).get("missing") or {}).values():
        for name in names if isinstance(names, list) else [names]:
            if name not in lacked:
                lacked.append(name)
    errors = ["%s: %s" % (step, state[step]["error"]) for step in ("audit", "install", "verify_staging", "verify_production")
              if isinstance(state.get(step), dict) and state[step].get("error")]
    verified, verify_failed = [], []
    for step in ("verify_staging", "verify_production"):
        for endpoint in (state.get(step) or {}).get("endpoints") or []:
            if endpoint.get("verified"):
                verified.append(endpoint["name"])
            else:
                verify_failed.append("%s: %s" % (endpoint["name"], endpoint.get("verify_error") or endpoint.get("error")
                                                 or "did not verify"))
    managed = client["managed"]
    fixed = lacked if (install and install.get("ok") and not ctx["check"]) else []
    if errors:
        status = "error"
    elif fixed:
        status = "fixed"
    elif lacked:
        would_fix = ctx["check"] and ctx["kind"] == "rotate" and managed and ctx["settings"].get("client_trust_update")
        status = "would_fix" if would_fix else "missing"
    else:
        status = "ok"
    return {"host": host, "managed": managed, "lacked": lacked, "stores_lacking": (audit or {}).get("missing") or {},
            "fixed": fixed, "missing": [] if fixed else lacked, "status": status, "verified": verified,
            "verify_failed": verify_failed, "errors": errors}


def region_defaults(account_default: Any) -> dict[str, dict]:
    """The looped account-default step's result per region (regions changed, or the error of a failed item)."""
    defaults: dict[str, dict] = {}
    for item in _registered(account_default).get("results") or []:
        if "regions" in item:
            defaults.update(item["regions"] or {})
        elif item.get("skipped"):
            continue
        elif "item" in item:
            defaults[item["item"]] = {"error": {"message": item.get("msg") or "failed"}}
    return defaults


def build_regions(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    defaults = region_defaults(ctx["account_default"])
    overrides = ctx["account_overrides"]
    regions = []
    for name, region in sorted((ctx["facts_before"].get("regions") or {}).items()):
        change = defaults.get(name)
        before = region.get("default_ca_for_new_launches")
        regions.append({
            "region": name, "databases": (region.get("counts") or {}).get("databases"),
            "default_before": before,
            "default_after": change.get("default_ca_for_new_launches", before) if change else before,
            "changed": bool(change.get("changed", False)) if change else False,
            "error": ((change.get("error") or {}).get("message")) if change else None,
            "target_ca_available": region.get("target_ca_available"),
            "target_ca_problem": region.get("target_ca_problem"),
            "override_kept": (overrides.get(name) or {}).get("customer_override") if name in overrides else None})
    return regions


def build_failures(ctx: dict[str, Any], rows: list[dict], clients: list[dict], regions: list[dict]) -> list[dict]:
    kind = ctx["kind"]
    failures = list(ctx["rotation_errors"])
    for phase, rotation in (ctx["rotations"] or {}).items():
        if rotation.get("halted_after_batch"):
            waiting = sum(1 for row in rows if row["phase"] == phase and row["status"] == "not_started")
            failures.append({"what": "%s rotation" % phase, "label": phase,
                             "reason": "halted after batch %s of a failure or a rollback: %d database(s) not started"
                                       % (rotation["halted_after_batch"], waiting)})
    for row in rows:
        if row["status"] in PROBLEM_STATUSES:
            failures.append({"what": "%s rotation" % row["phase"] if kind == "rotate" else kind, "label": row["label"],
                             "reason": "%s: %s" % (row["status"], row["reason"] or row["error"] or "")})
    for row in rows:
        if row["verification"]["endpoint"] == "failed" and row["status"] not in ("failed", "rolled_back", "unverified"):
            failures.append({"what": "endpoint verification", "label": row["label"], "reason": row["verification"]["detail"]})
    for client in clients:
        failures += [{"what": "client", "label": client["host"], "reason": e} for e in client["errors"]]
        failures += [{"what": "client verification", "label": client["host"], "reason": f} for f in client["verify_failed"]]
    failures += [{"what": "default CA for new launches", "label": r["region"], "reason": r["error"]} for r in regions if r["error"]]
    failures += [{"what": "pre-flight", "label": "", "reason": p} for p in ctx["problems"]]
    failures += [{"what": "account", "label": a["account"], "reason": "%s: %s%s" % (
        NOT_INVENTORIED, ("%s: " % a["error_code"]) if a.get("error_code") else "", a.get("message") or "its role could not be assumed")}
        for a in failed_accounts(ctx)]
    stop = ctx["stop"]
    if stop and not stop.get("ok"):
        failures.append({"what": "stopped", "label": stop.get("step"), "reason": stop.get("reason")})
    return failures


# -- what a change advisory board reads first -------------------------------------------------------------------------

def counts(rows: Iterable[dict], key, missing: str = "-") -> dict[str, int]:
    """Counts per value of key(row), naturally sorted by value (missing for none)."""
    counter = Counter(missing if key(row) in (None, "") else str(key(row)) for row in rows)
    return dict(sorted(counter.items(), key=lambda item: natural_key(item[0])))


def restart_when(ctx: dict[str, Any], row: dict[str, Any]) -> str | None:
    """When a database restarts, from the modules' verdicts; None when it does not (or nobody knows)."""
    restart, status = row["restart"], row["status"]
    if restart["restarted"]:
        batch = " (batch %s)" % row["batch"] if row.get("batch") else ""
        started = row["timing"].get("started_at")
        return ("during this run%s" % batch if ctx["check"] else "restarted at %s%s" % (started or "?", batch))
    if status == "scheduled" and restart["would_restart"] is True:
        date = row["before"].get("maintenance_apply_date")
        return "in its maintenance window" + (" (due %s)" % str(date)[:10] if date else "")
    if ctx["kind"] == "audit" and row["before"]["needs_rotation"] and restart["would_restart"] is True:
        date = row["before"].get("maintenance_apply_date")
        return "when rotated" + (" (or by the pending maintenance due %s)" % str(date)[:10] if date else "")
    return None


def restart_category(row: dict[str, Any]) -> str:
    """The restart behaviour in one word for the breakdown (the text the row shows, shortened)."""
    text = row["restart"]["text"]
    if text.startswith("avoided"):
        return "restart avoided"
    return {"would restart": "restarts", "restarted": "restarted", "would restart if rotated": "restart if rotated",
            "no restart": "no restart", "no restart needed": "no restart", "scheduled for the maintenance window":
            "no restart"}.get(text, "unknown")


def held_back(rows: list[dict], kind: str) -> list[dict[str, Any]]:
    """What is blocked and why: the rows not done (or, in an audit, that cannot be), grouped by reason."""
    groups: dict[tuple, list[str]] = {}
    for row in rows:
        if kind == "audit":
            if row["phase"] == "unsupported":
                key = ("out_of_scope", "engine %s is not rotated by this collection" % row["engine"])
            elif not row["before"]["needs_rotation"]:
                continue
            elif row.get("target_ca_supported") is False:
                key = ("blocked", "the engine version does not support the target CA (DescribeDBEngineVersions)")
            elif row["phase"] == "other":
                key = ("out_of_scope", "environment %s is neither staging nor production" % row["environment"]
                       if row["environment"] else "no environment tag: not rotated by the rotate playbook")
            else:
                continue
        elif row["status"] in HELD_STATUSES:
            key = (row["status"], _generic(row["reason"] or row["error"] or ""))
        else:
            continue
        groups.setdefault(key, []).append(row["label"])
    out = [{"status": status, "reason": reason, "count": len(labels), "labels": sorted(labels, key=natural_key)}
           for (status, reason), labels in groups.items()]
    return sorted(out, key=lambda g: (status_rank(g["status"]), -g["count"], g["reason"]))


def _generic(reason: str) -> str:
    """A reason without the database's own names, so that equal reasons group (identifiers stay in the rows)."""
    return re.sub(r"\b[a-z]{2}(-gov)?-[a-z]+-\d/[\w.-]+", "<database>", str(reason))


def build_summary(ctx: dict[str, Any], rows: list[dict], clients: list[dict], failures: list[dict]) -> dict[str, Any]:
    target = ctx["settings"].get("target_ca")
    in_scope = [row for row in rows if row["phase"] in IN_SCOPE_PHASES]
    restarts = [{"label": row["label"], "when": when} for row in rows for when in [restart_when(ctx, row)] if when]
    return {
        "databases": len(rows),
        "in_scope": len(in_scope),
        "by_status": counts(rows, lambda r: r["status"]),
        "by_phase": counts(rows, lambda r: r["phase"]),
        "by_account": counts(rows, lambda r: r["account"]),
        "accounts": account_summaries(ctx, rows),
        "by_region": counts(rows, lambda r: r["region"]),
        "by_engine": counts(rows, lambda r: r["engine"]),
        "by_environment": counts(rows, lambda r: r["environment"], "(no tag)"),
        "by_ca": counts(rows, lambda r: r["before"]["ca"]),
        "by_ca_after": counts(in_scope, lambda r: r["after"]["ca"]) if ctx["kind"] != "audit" else {},
        "by_restart": counts(rows, restart_category),
        "needs_rotation": sum(1 for row in rows if row["before"]["needs_rotation"]),
        "on_target_after": sum(1 for row in in_scope if row["after"]["ca"] == target),
        "restarted": [row["label"] for row in rows if row["restart"]["restarted"] is True],
        "restarts_avoided": [row["label"] for row in rows if row["restart"]["text"].startswith("avoided")],
        "restarts": sorted(restarts, key=lambda r: natural_key(r["label"])),
        "scheduled": [row["label"] for row in rows if row["status"] == "scheduled"],
        "held_back": held_back(rows, ctx["kind"]),
        "endpoints_verified": sum(1 for row in rows if row["verification"]["endpoint"] == "verified"),
        "clients": len(clients),
        "clients_lacking_before": [c["host"] for c in clients if c["lacked"]],
        "clients_fixed": [c["host"] for c in clients if c["fixed"]],
        "clients_missing": [c["host"] for c in clients if c["missing"]],
        **coverage_report.summary_counts(ctx["client_coverage"]),
        "failures": len(failures),
    }


def outcome_of(ctx: dict[str, Any], failures: list[dict]) -> str:
    stop = ctx["stop"]
    if stop and not stop.get("ok"):
        return "stopped"
    if failures:
        return "completed_with_failures"
    return "planned" if ctx["check"] else "completed"


# -- the report -----------------------------------------------------------------------------------------------------------

def context(data: dict[str, Any]) -> dict[str, Any]:
    """What build_report reads, with every optional input defaulted."""
    accounts = multi_account(data.get("settings"))
    results, rotation_errors = index_rotations(data.get("rotations") or {}, accounts)
    clients = [{"host": host, "state": state if isinstance(state, dict) else {},
                "managed": bool(managed) if not isinstance(managed, str) else managed.lower() in ("1", "true", "yes", "on")}
               for host, state, managed in zip(data.get("client_hosts") or [], data.get("client_states") or [],
                                               data.get("client_manage_trust") or [True] * len(data.get("client_hosts") or []))]
    return {
        "kind": data.get("kind") or "rotate", "check": bool(data.get("check_mode")), "settings": data.get("settings") or {},
        "stop": data.get("stop") or {}, "rotations": data.get("rotations") or {}, "results": results,
        "rotation_errors": rotation_errors,
        "usage": dict((_label(item, None, accounts), item) for item in _registered(data.get("usage")).get("databases") or []),
        "after": dict((_label(item, None, accounts), item) for item in _inventory(data.get("facts_after")).get("databases") or []),
        "probes": index_probes(data.get("probes") or {}), "reachable": set(data.get("reachable") or []),
        "clients": clients, "client_checks": index_client_checks(clients),
        "facts_before": _inventory(data.get("facts_before")), "account_default": data.get("account_default"),
        "account_overrides": data.get("account_overrides") or {}, "problems": list(data.get("problems") or []),
        "client_coverage": coverage_report.report_section(data.get("client_coverage"),
                                                          (data.get("settings") or {}).get("stop_on_unmanaged_tls_clients")),
    }


def build_report(data: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The run's report (a dict that is written as JSON) from what the playbook's steps produced (see run_report)."""
    ctx = context(data)
    rows = [build_row(ctx, db) for db in data.get("databases") or []]
    for row, db in zip(rows, data.get("databases") or []):
        if db.get("target_ca_supported") is False:
            row["target_ca_supported"] = False
        # What a probe saw the endpoint present (after the rotation, else before it) wins over what the engine documents.
        seen = (ctx["probes"].get(row["label"]) or {}).get("presented_ca") or row["ssl"]["presented_ca"]
        row["client_trust"] = proxy_trust.client_trust(db, ctx["settings"].get("target_ca"), presented_ca=seen)
    rows.sort(key=lambda row: natural_key(row["label"]))
    clients = [build_client(ctx, client) for client in ctx["clients"]]
    regions = build_regions(ctx)
    failures = build_failures(ctx, rows, clients, regions)
    settings = ctx["settings"]
    finished = now or datetime.now(timezone.utc)
    try:
        duration = round(finished.timestamp() - float(settings.get("started_epoch")), 1)
    except (TypeError, ValueError):
        duration = None
    return {
        "kind": ctx["kind"], "run_id": settings.get("run_id"), "mode": "check" if ctx["check"] else "apply",
        "started_at": settings.get("started_at"), "finished_at": finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_seconds": duration, "target_ca": settings.get("target_ca"),
        "outcome": outcome_of(ctx, failures), "stop": ctx["stop"] or None,
        "settings": _redacted(settings),
        "regions_queried": ctx["facts_before"].get("regions_queried") or [],
        "failed_accounts": failed_accounts(ctx),
        "summary": build_summary(ctx, rows, clients, failures),
        "gate": data.get("gate") or None, "steps": list(data.get("steps") or []),
        "warnings": list(data.get("warnings") or []), "failures": failures,
        "databases": rows, "clients": clients, "regions": regions,
        "client_coverage": ctx["client_coverage"],
    }
