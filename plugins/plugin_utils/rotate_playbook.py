# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The decisions of the rotate and rollback playbooks, as plain functions.

The playbooks keep only orchestration (which module runs when); what they decide from the
modules' results lives here, behind the filter plugins of the same names, with unit tests:

- discovery: each database's environment and phase (``rotation_phases``), the endpoints the
  controller reaches with TLS (``reachable_endpoints``);
- pre-flight: what stops the run and what the report mentions (``preflight_checks``), the clients
  whose trust stores lack the target CA or could not be updated (``client_trust_gaps``);
- production batches: one batch's outcome added to the phase's record, and whether the phase
  halts (``rotation_record``), the lines printed after a phase (``rotation_summary``);
- verification: the endpoints on the target CA (``verify_targets``), what the controller's probes
  showed (``endpoint_probes``), what each client checks (``client_endpoints``);
- the staging gate (``staging_gate``), also predicted in check mode;
- the rollback: its entries (``rollback_entries``, parsed by ``rotation.normalize_entries`` as
  ``rds_ca_rotate`` parses its ``databases``) and which of them can go back (``rollback_checks``).

Nothing here calls AWS: the inputs are what the modules returned. Controller-side code (plugin_utils), used by
the filters only; the RDS knowledge it needs (statuses, labels, entry parsing, engine protocols) comes from
module_utils.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Dict, Iterable, Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.rdsca.rotation.plugins.module_utils import inventory_records
from ansible_collections.rdsca.rotation.plugins.module_utils import rotation
from ansible_collections.rdsca.rotation.plugins.module_utils import rotation_records
from ansible_collections.rdsca.rotation.plugins.module_utils.families import assign_families
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import ACCOUNT_ID, db_label, scope_label
from ansible_collections.rdsca.rotation.plugins.module_utils.tls_probe import engine_protocol


def check_list(value: Any, what: str, name: str) -> list:
    """``value`` when it is a list; otherwise the filter ``name`` fails saying it needs ``what`` (a list)."""
    if not isinstance(value, list):
        raise AnsibleFilterError("rdsca.rotation.%s needs %s (a list), got %s" % (name, what, type(value).__name__))
    return value


PHASES = ("staging", "production")
#: Protocols whose endpoints the playbooks verify (a TLS handshake after the protocol's upgrade; "tls": direct
#: TLS, DocumentDB on 27017 and Neptune on 8182).
VERIFIED_PROTOCOLS = ("postgres", "mysql", "tls")

Db = Dict[str, Any]


def multi_account(settings: Mapping[str, Any] | None) -> bool:
    """Whether the run covers several accounts (rdsca_accounts or rdsca_organization): labels then carry the account."""
    settings = settings or {}
    organization = settings.get("organization")
    enabled = isinstance(organization, Mapping) and organization and boolean(organization.get("enabled", True), strict=False)
    return bool(settings.get("accounts")) or bool(enabled)


def label_of(item: Mapping[str, Any], accounts: bool = False, identifier: str | None = None) -> str:
    """The label of a result item (of ``identifier``, a member, when given): ``account/region/identifier`` in a run over
    several accounts (``accounts``), else ``region/identifier`` (rds_domain.db_label)."""
    account = item.get("account") if accounts else None
    return db_label(item.get("region"), identifier or item.get("identifier"), str(account) if account else None)


def same_database(item: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    """The same database: region and identifier, and the account when both say."""
    if item.get("region") != other.get("region") or item.get("identifier") != other.get("identifier"):
        return False
    return not (item.get("account") and other.get("account")) or str(item["account"]) == str(other["account"])


def _counts(statuses: Iterable[str]) -> str:
    """``rotated 2, skipped 1`` (in order of first appearance)."""
    return ", ".join("%s %d" % (status, count) for status, count in Counter(statuses).items())


def _cfg(settings: Mapping[str, Any], key: str, default: Any = None) -> Any:
    value = settings.get(key, default)
    return default if value is None else value


def verify_protocol(engine: str | None) -> str | None:
    """The protocol of the handshake that verifies an endpoint of ``engine``, or None when the playbooks do not verify it."""
    protocol = engine_protocol(engine)
    return protocol if protocol in VERIFIED_PROTOCOLS else None


# -- clients' patterns ------------------------------------------------------------------------------

def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(pattern).replace("\\*", ".*").replace("\\?", ".") + "$")


def split_patterns(patterns: Any) -> list[str] | None:
    """A list of patterns from a list or a string separated by commas, semicolons or blanks (AWX text); None if neither."""
    if isinstance(patterns, str):
        return re.findall(r"[^,;\s]+", patterns)
    if isinstance(patterns, (list, tuple)):
        return [str(p) for p in patterns]
    return None


def match_databases(databases: list[Db], patterns: list[str], keys: tuple[str, ...] = ("label", "identifier", "cluster_id")) -> list[Db]:
    """The databases one of whose ``keys`` matches one of the shell-style patterns (whole names)."""
    regexes = [_pattern(p) for p in patterns]
    return [db for db in databases
            if any(rx.match(str(db.get(key) or "")) for rx in regexes for key in keys)]


# -- discovery --------------------------------------------------------------------------------------

def rotation_phases(databases: list[Db], settings: Mapping[str, Any]) -> list[Db]:
    """Each database with ``label``, ``environment`` (tag, or rdsca_database_environments), ``phase`` and ``family``.

    phase: staging or production (rotated), other (an environment in neither list, or none: listed,
    never changed), unsupported (an engine this collection does not rotate).
    """
    overrides = _cfg(settings, "database_environments", {})
    accounts = multi_account(settings)
    staging = [str(e).lower() for e in _cfg(settings, "staging_environments", [])]
    production = [str(e).lower() for e in _cfg(settings, "production_environments", [])]
    out = []
    for db in databases:
        label = label_of(db, accounts)
        env = overrides.get(label, overrides.get(label_of(db), overrides.get(db.get("identifier"), db.get("environment"))))
        key = str(env or "").lower()
        if not db.get("engine_supported"):
            phase = "unsupported"
        elif key in staging:
            phase = "staging"
        elif key in production:
            phase = "production"
        else:
            phase = "other"
        out.append(dict(db, label=label, environment=env, phase=phase))
    return assign_families(out)


def reachable_endpoints(usage_databases: list[Db] | None, accounts: bool = False) -> list[str]:
    """Labels of the databases whose endpoint rds_ssl_usage reached with TLS (with their account: ``accounts``)."""
    out = []
    for item in usage_databases or []:
        probe = item.get("probe")
        if isinstance(probe, Mapping) and probe.get("reachable") is True and probe.get("tls_supported") is True:
            out.append(label_of(item, accounts))
    return out


# -- pre-flight -------------------------------------------------------------------------------------

def account_overrides(facts: Mapping[str, Any], target_ca: str, replace: bool) -> dict[str, dict[str, Any]]:
    """Regions whose default CA for new launches is a deliberate override (CustomerOverride) to another valid CA."""
    out: dict[str, dict[str, Any]] = {}
    if replace:
        return out
    for region, facts_of in _region_entries(facts):
        override = facts_of.get("customer_override")
        cert = next((c for c in facts_of.get("certificates") or [] if c.get("identifier") == override), None)
        if override and override != target_ca and cert is not None and cert.get("expired") is False:
            out[region] = {"customer_override": override, "valid_till": cert.get("valid_till")}
    return out


def _region_entries(facts: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """rds_ca_facts ``regions`` entries of the regions queried: keyed ``region``, or ``account/region`` in a run over
    several accounts (one entry per account and region)."""
    queried = set(facts.get("regions_queried") or [])
    return [(key, value) for key, value in (facts.get("regions") or {}).items()
            if str(key).rsplit("/", 1)[-1] in queried and isinstance(value, Mapping)]


def _usage_error(usage_databases: list[Db], db: Db) -> str:
    for item in usage_databases:
        if same_database(item, db):
            return item.get("error") or "not probed"
    return "not probed"


def failed_account_lines(facts: Mapping[str, Any]) -> list[str]:
    """One sentence per account rds_ca_facts could not read (``failed_accounts``: its AssumeRole failed)."""
    return ["account %s could not be read (%s: %s), so its databases are unknown, not inventoried"
            % (failure.get("account") or failure.get("role_arn"), failure.get("error_code"), failure.get("message"))
            for failure in facts.get("failed_accounts") or []]


def preflight_problems(facts: Mapping[str, Any], in_scope: list[Db], settings: Mapping[str, Any],
                       reachable: list[str], usage_databases: list[Db]) -> list[str]:
    """What stops the rotation before any change, one sentence each."""
    target = settings.get("target_ca")
    out = []
    for failure in facts.get("failed_regions") or []:
        out.append("region %s could not be read (%s: %s), so the scope is unknown there"
                   % (scope_label(failure.get("region"), failure.get("account")),
                      failure.get("error_code"), failure.get("message")))
    if boolean(settings.get("strict") or False, strict=False):
        out.extend("%s; rdsca_strict stops the run before any change" % text for text in failed_account_lines(facts))
    # The target must be a CA of every region it is applied in, and not expired (rds_ca_facts target_ca_problem):
    # the regions of the databases in scope, and every region queried when the account default is set there.
    # In a run over several accounts the entries are per account and region (``account/region``).
    wanted = set(db.get("region") for db in in_scope) | set(scope_label(db.get("region"), db.get("account")) for db in in_scope)
    for region, region_facts in _region_entries(facts):
        # Without the account default: the regions of the databases only.
        if not settings.get("set_account_default") and region not in wanted:
            continue
        if region_facts.get("target_ca_problem"):
            out.append("%s: %s" % (region, region_facts["target_ca_problem"]))
        elif not region_facts.get("target_ca_available"):
            out.append("%s is not a CA of %s (DescribeCertificates)" % (target, region))
    for db in in_scope:
        if db.get("target_ca_supported") is False:
            out.append("%s: %s %s does not support %s (supported: %s)" % (
                db["label"], db.get("engine"), db.get("engine_version"), target, ", ".join(db.get("supported_cas") or [])))
    if settings.get("verify") == "all":
        for db in in_scope:
            if db["label"] not in reachable:
                out.append("%s: rdsca_verify=all but the controller cannot reach its endpoint with TLS (%s); "
                           "set rdsca_connect_host, or rdsca_verify=auto" % (db["label"], _usage_error(usage_databases, db)))
    return out


def preflight_warnings(dbs: list[Db], overrides: Mapping[str, Any], settings: Mapping[str, Any],
                       reachable: list[str], audit: bool = False) -> list[str]:
    """What the report mentions without stopping the run (``audit``: an audit changes nothing, it says what a rotation would do)."""
    target = settings.get("target_ca")
    in_scope = [db for db in dbs if db.get("phase") in PHASES]
    out = []
    for region, facts in overrides.items():
        out.append("%s: new launches use %s (an override set on purpose with ModifyCertificates, a current CA), not %s; "
                   "the account default step leaves it as it is (drift); set rdsca_replace_account_override=true to "
                   "replace it" % (region, facts["customer_override"], target))
    for db in in_scope:
        if db.get("target_ca_supported") == "unknown":
            out.append("%s: %s %s is not reported by DescribeDBEngineVersions; it will be skipped"
                       % (db["label"], db.get("engine"), db.get("engine_version")))
    other = [db["label"] for db in dbs if db.get("phase") == "other"]
    if other:
        out.append("%d database(s) in neither a staging nor a production environment are left alone: %s"
                   % (len(other), ", ".join(other)))
    unsupported = [db["label"] for db in dbs if db.get("phase") == "unsupported"]
    if unsupported:
        out.append("engines this collection does not rotate (DocumentDB, Neptune, RDS Custom): " + ", ".join(unsupported))
    if settings.get("verify") == "auto":
        blind = [db["label"] for db in in_scope if db["label"] not in reachable]
        if blind:
            out.append("%d database(s) %s without endpoint verification, their endpoint being unreachable "
                       "from the controller: %s" % (len(blind), "would be rotated" if audit else "are rotated", ", ".join(blind)))
    return out


def preflight_checks(dbs: list[Db], facts: Mapping[str, Any], settings: Mapping[str, Any],
                     reachable: list[str] | None = None, usage_databases: list[Db] | None = None,
                     audit: bool = False) -> dict[str, Any]:
    """``in_scope``, ``account_overrides``, ``problems`` and ``warnings`` of the pre-flight."""
    reachable = list(reachable or [])
    usage_databases = list(usage_databases or [])
    in_scope = [db for db in dbs if db.get("phase") in PHASES]
    overrides = account_overrides(facts, settings.get("target_ca"), bool(settings.get("replace_account_override")))
    warnings = preflight_warnings(dbs, overrides, settings, reachable, audit)
    if not boolean(settings.get("strict") or False, strict=False):
        # Without rdsca_strict the run goes on in the other accounts; the report lists the account as a failure.
        warnings = ["%s; the run goes on in the other accounts and changes nothing there (rdsca_strict=true stops it)" % text
                    for text in failed_account_lines(facts)] + warnings
    return {"in_scope": in_scope, "account_overrides": overrides,
            "problems": preflight_problems(facts, in_scope, settings, reachable, usage_databases),
            "warnings": warnings}


# -- clients ----------------------------------------------------------------------------------------

def _hostvar(hostvars: Mapping[str, Any], host: str, name: str, default: Any = None) -> Any:
    try:
        value = hostvars[host].get(name)
    except KeyError:
        return default
    return default if value is None else value


def _managed(hostvars: Mapping[str, Any], host: str) -> bool:
    return boolean(_hostvar(hostvars, host, "rdsca_client_manage_trust", True), strict=False)


def _step_state(hostvars: Mapping[str, Any], host: str, step: str) -> Mapping[str, Any] | None:
    return (_hostvar(hostvars, host, "rdsca_client_state", {}) or {}).get(step)


def client_trust_gaps(hosts: list[str], hostvars: Mapping[str, Any], step: str, settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The clients whose trust is not right after ``step``: ``{host, why, fixed_by_this_run}`` each.

    ``audit``: those the pre-flight audit could not read or that lack the target CA (``fixed_by_this_run``:
    the trust update of this run installs it). ``install``: those the trust update did not update (none when
    the run does not update trust; hosts with rdsca_client_manage_trust=false are not counted).
    """
    update = bool(settings.get("client_trust_update"))
    out = []
    for host in hosts:
        if step == "install" and (not update or not _managed(hostvars, host)):
            continue
        state = _step_state(hostvars, host, step)
        if state is None or not state.get("ok"):
            why = state.get("error") if state is not None else ("not audited" if step == "audit" else "not updated")
        elif step == "audit" and state.get("missing"):
            missing = state["missing"]
            cas = list(dict.fromkeys(ca for values in missing.values() for ca in (values if isinstance(values, list) else [values])))
            why = "lacks %s in %s" % (", ".join(cas), ", ".join(missing))
        else:
            continue
        gap = {"host": host, "why": why}
        if step == "audit":
            gap["fixed_by_this_run"] = update and _managed(hostvars, host)
        out.append(gap)
    return out


def client_endpoints(targets: list[Db], patterns: Any, connect_host: str | None = None,
                     ca_cert: str | None = None) -> list[dict[str, Any]]:
    """The endpoints a client verifies (ca_trust verify entry point) from the phase's targets and its patterns."""
    out = []
    for db in match_databases(targets, split_patterns(patterns) or []):
        endpoint = {"name": db["label"], "server_name": db.get("server_name"), "port": db.get("port"),
                    "protocol": db.get("protocol")}
        if connect_host:
            endpoint["connect_host"] = connect_host
        if ca_cert:
            endpoint["ca_cert"] = ca_cert
        out.append(endpoint)
    return out


# -- batches ----------------------------------------------------------------------------------------

def new_record() -> dict[str, Any]:
    return {"databases": [], "failures": [], "errors": [], "regions": {}, "verified": [], "unverified": [],
            "batches": 0, "halted_after_batch": None}


def rotation_record(previous: Mapping[str, Any] | None, parts: list[Mapping[str, Any]], batch: list[Db],
                    verified: list[Db], number: int, count: int, halt: bool) -> dict[str, Any]:
    """The phase's record with one more batch (number ``number`` of ``count``).

    ``parts`` are the rds_ca_rotate results of the batch (one for the databases rotated with endpoint
    verification, one for the others; a call that failed without results is an error). The batch is bad
    when a result lists failures (failed, rolled back, blocked, unverified) or a call failed outright;
    with ``halt`` and batches left, ``halted_after_batch`` is set: the later batches are not started.
    """
    record = dict(new_record(), **(previous or {}))
    verified_labels = [db["label"] for db in verified]
    record = dict(record, databases=list(record["databases"]), failures=list(record["failures"]),
                  errors=list(record["errors"]), regions=dict(record["regions"]),
                  verified=list(record["verified"]) + verified_labels,
                  unverified=list(record["unverified"]) + [db["label"] for db in batch if db["label"] not in verified_labels],
                  batches=record["batches"] + 1)
    bad = False
    for part in parts:
        # rds_ca_rotate detail=compact items get their left-out keys back (issue 20).
        record["databases"].extend(dict(rotation_records.expand_unit(item), batch=number) for item in part.get("databases") or [])
        record["failures"].extend(part.get("failures") or [])
        record["regions"].update(part.get("regions") or {})
        if part.get("failed") and "databases" not in part:
            record["errors"].append(str(part.get("msg") or "rds_ca_rotate failed"))
            bad = True
        if part.get("failures"):
            bad = True
    if bad and halt and number < count:
        record["halted_after_batch"] = number
    return record


def batch_title(batch: list[Db], number: int, count: int, shown: int = 3, word: str = "batch") -> str:
    """``batch 2 of 5: a, b, c (+4)`` - names the batch (or ``word``) in task names and progress lines."""
    labels = [db.get("identifier") or db.get("label") for db in batch]
    more = " (+%d)" % (len(labels) - shown) if len(labels) > shown else ""
    return "%s %d of %d: %s%s" % (word, number, count, ", ".join(labels[:shown]), more)


def usage_chunks(databases: list[Db], size: Any, shown: int = 3) -> list[dict[str, Any]]:
    """The endpoints cut into chunks of ``size`` for rds_ssl_usage, in order, each with its number and title.

    An Ansible module prints nothing while it runs: running rds_ssl_usage once per chunk prints a line as each
    chunk finishes, and the chunk's title (``chunk 2 of 5: a, b, c (+197)``) names it in the task name. The
    ``ssl_usage_merge`` filter turns the chunks' results back into one.
    """
    if isinstance(size, bool) or not isinstance(size, (int, str)) or not str(size).strip().isdigit() or int(size) < 1:
        raise AnsibleFilterError("rdsca.rotation.usage_chunks needs a chunk size of at least 1, got %r" % (size,))
    size = int(size)
    parts = [databases[start:start + size] for start in range(0, len(databases), size)]
    return [{"number": number, "count": len(parts), "title": batch_title(part, number, len(parts), shown, "chunk"),
             "databases": part} for number, part in enumerate(parts, 1)]


def batch_outcome(record: Mapping[str, Any], number: int, count: int) -> str:
    """The line printed when a batch finishes: its statuses, and whether the phase halts."""
    items = [item for item in record.get("databases") or [] if item.get("batch") == number]
    line = "batch %d of %d finished: %s" % (number, count, _counts(item.get("status") for item in items) or "no database")
    bad = [item for item in items if item.get("status") in rotation.FAILURE_STATUSES]
    if bad:
        line += " (%s)" % "; ".join("%s %s" % (item.get("label"), item.get("status")) for item in bad)
    if record.get("halted_after_batch") == number:
        line += "; HALTED: the later batches are not started (rdsca_halt_on_failure)"
    return line


def rotation_summary(record: Mapping[str, Any], phase: str, batches: int, check_mode: bool = False) -> list[str]:
    """The lines printed after a phase: counts by status, what was not rotated and why, errors, a halt."""
    counts = _counts(item.get("status") for item in record.get("databases") or []) or "no database"
    lines = ["%s%s%s" % (phase, " (check mode, planned): " if check_mode else ": ", counts)]
    for item in record.get("databases") or []:
        if item.get("status") not in (rotation.ROTATED, rotation.UNCHANGED):
            lines.append("%s %s: %s" % (item.get("label"), item.get("status"), item.get("reason")))
    lines.extend("error: %s" % error for error in record.get("errors") or [])
    if record.get("halted_after_batch"):
        lines.append("HALTED after batch %s of %d (a failure or a rollback; rdsca_halt_on_failure): the later batches "
                     "were not started" % (record["halted_after_batch"], batches))
    return lines


# -- verification -----------------------------------------------------------------------------------

def verify_targets(databases_after: list[Db], labels: list[str], target_ca: str, accounts: bool = False) -> list[dict[str, Any]]:
    """The databases of ``labels`` now on ``target_ca`` whose endpoint can be verified, as verification targets
    (``accounts``: the labels carry the account)."""
    wanted = set(labels)
    out = []
    for db in databases_after or []:
        label = label_of(db, accounts)
        protocol = verify_protocol(db.get("engine"))
        if label in wanted and db.get("current_ca") == target_ca and db.get("endpoint_address") and protocol:
            out.append({"label": label, "identifier": db.get("identifier"), "region": db.get("region"),
                        "cluster_id": db.get("cluster_id"), "server_name": db.get("endpoint_address"),
                        "port": db.get("endpoint_port"), "protocol": protocol})
    return out


def probe_verdict(probe: Mapping[str, Any] | None, target_ca: str, error: str | None = None) -> tuple[bool, str | None]:
    """(verified, why not): the endpoint presents the target CA and its chain verifies."""
    probe = probe or {}
    ok = probe.get("presented_ca") == target_ca and probe.get("verified") is True
    if ok:
        return True, None
    return False, probe.get("verify_error") or error or "presents %s" % (probe.get("presented_ca") or "an unknown CA")


def endpoint_probes(usage_databases: list[Db] | None, labels: list[str], target_ca: str,
                    accounts: bool = False) -> list[dict[str, Any]]:
    """What the controller's probes of ``labels`` showed: ``{label, verified, presented_ca, error}`` each
    (``accounts``: the labels carry the account)."""
    wanted = set(labels)
    out = []
    for item in usage_databases or []:
        label = label_of(item, accounts)
        if label not in wanted:
            continue
        probe = item.get("probe") or {}
        if rotation.acm_endpoint(dict(rotation.probe_summary(probe), engine=item.get("engine"))):
            # Neptune's documented ACM certificate: unchanged by the CA change, as rds_ca_rotate decides it too.
            out.append({"label": label, "verified": True, "presented_ca": None, "error": None, "note": rotation.ACM_NOTE})
            continue
        ok, why = probe_verdict(probe, target_ca, item.get("error"))
        out.append({"label": label, "verified": ok, "presented_ca": probe.get("presented_ca"), "error": why})
    return out


# -- the staging gate -------------------------------------------------------------------------------

def _planned_after(staging: list[Db], rotation_result: Mapping[str, Any] | None, target_ca: str,
                   accounts: bool = False) -> tuple[dict[str, Db], list[str]]:
    """Check mode: staging as the staging rotation plans it (``after`` by label), and the labels it rotates."""
    planned = {}
    for item in (rotation_result or {}).get("databases") or []:
        for member in item.get("members") or [item.get("identifier")]:
            planned[label_of(item, accounts, member)] = item.get("status")
    after, rotated = {}, []
    for db in staging:
        status = planned.get(db["label"])
        if status == rotation.ROTATED:
            after[db["label"]] = dict(db, current_ca=target_ca, pending_ca=None)
            rotated.append(db["label"])
        elif status == rotation.SCHEDULED:
            after[db["label"]] = dict(db, pending_ca=target_ca)
    return after, rotated


def _gate_rotation(rotation_result: Mapping[str, Any], check_mode: bool) -> dict[str, Any]:
    # What rds_ca_rotate lists in failures (failed, rolled back, blocked, unverified): the module decides.
    bad = list(rotation_result.get("failures") or [])
    errors = list(rotation_result.get("errors") or [])
    ok = not bad and not errors
    if ok:
        items = rotation_result.get("databases") or []
        detail = "%d staging database(s): %s" % (len(items), _counts(i.get("status") for i in items) or "nothing to do")
    else:
        detail = "; ".join(["%s %s %s" % (f.get("label"), f.get("status"), f.get("reason")) for f in bad] + errors)
    return {"check": "staging rotation succeeded" + (" (planned)" if check_mode else ""), "ok": ok, "detail": detail}


def _gate_on_target(staging: list[Db], after: Mapping[str, Db], skipped: list[str], settings: Mapping[str, Any],
                    predicted: str) -> tuple[dict[str, Any], list[str]]:
    target = settings.get("target_ca")
    not_done, scheduled, on_target = [], [], []
    for db in staging:
        now = after.get(db["label"], db)
        if now.get("current_ca") == target:
            on_target.append(db["label"])
        elif now.get("pending_ca") == target:
            scheduled.append(db["label"])
        elif db["label"] not in skipped:
            not_done.append("%s is on %s" % (db["label"], now.get("current_ca")))
    if not_done:
        detail = "; ".join(not_done) + (" - run the staging phase first" if settings.get("phase") == "production" else "")
    else:
        detail = "%d on %s%s" % (len(staging) - len(scheduled), target, predicted)
        if scheduled:
            detail += ", scheduled for the maintenance window: " + ", ".join(scheduled)
    return {"check": "staging databases on the target CA", "ok": not not_done, "detail": detail}, on_target


def _verifiable(staging: list[Db], on_target: list[str]) -> list[Db]:
    return [db for db in staging if db["label"] in on_target and db.get("endpoint_address") and verify_protocol(db.get("engine"))]


def _predicted_probes(verifiable: list[Db], rotated: list[str], reachable: list[str], usage_databases: list[Db],
                      target_ca: str, accounts: bool = False) -> list[dict[str, Any]]:
    """Check mode: the endpoints the real run probes. Those already on the target are judged by discovery's probe;
    those this run rotates are expected to verify (a failure there is rolled back and fails the real gate)."""
    usage = dict((label_of(item, accounts), item) for item in usage_databases)
    out = []
    for db in verifiable:
        if db["label"] not in reachable:
            continue
        if db["label"] in rotated:
            out.append({"label": db["label"], "verified": True, "error": None})
            continue
        ok, why = probe_verdict((usage.get(db["label"]) or {}).get("probe"), target_ca)
        out.append({"label": db["label"], "verified": ok, "error": why})
    return out


def _gate_probes(probes: list[Mapping[str, Any]], target: str, predicted: str) -> dict[str, Any]:
    bad = [p for p in probes if not p.get("verified")]
    if bad:
        detail = "; ".join("%s: %s" % (p.get("label"), p.get("error")) for p in bad)
    else:
        detail = "%d endpoint(s) present %s and verify%s" % (len(probes), target, predicted)
        if probes:
            detail += ": " + ", ".join(p["label"] for p in probes)
    return {"check": "staging endpoints verified from the controller", "ok": not bad, "detail": detail}


def _gate_clients(hosts: list[str], hostvars: Mapping[str, Any], verifiable: list[Db], settings: Mapping[str, Any],
                  check_mode: bool, predicted: str) -> tuple[dict[str, Any], list[str]]:
    good, bad, verified = [], [], []
    for host in hosts:
        if check_mode:
            # The clients verify after the rotation; predicted from their pre-flight audit (reached, trust store read).
            audit = _step_state(hostvars, host, "audit")
            if audit is None or not audit.get("ok"):
                bad.append("%s: %s (it cannot verify staging)" % (host, audit.get("error") if audit is not None else "not reached"))
                continue
            patterns = split_patterns(_hostvar(hostvars, host, "rdsca_client_databases", ["*"])) or []
            good.append(host)
            verified.extend(db["label"] for db in match_databases(verifiable, patterns))
            continue
        state = _step_state(hostvars, host, "verify_staging")
        if state is None:
            bad.append("%s: no verification result (the client was not reached)" % host)
        elif not state.get("ok"):
            failed = state.get("failed") or []
            bad.append("%s: %s%s" % (host, ("%s did not verify" % ", ".join(failed)) if failed else "",
                                     (" - %s" % state["error"]) if state.get("error") else ""))
        else:
            good.append(host)
            verified.extend(e.get("name") for e in state.get("endpoints") or [] if e.get("verified"))
    if bad:
        detail = "; ".join(bad)
    elif hosts:
        detail = "%d client(s) verified %d staging endpoint(s)%s" % (len(good), len(set(verified)), predicted)
    else:
        detail = "no client host in %s" % settings.get("clients")
    return {"check": "clients verified the staging databases", "ok": not bad, "detail": detail}, verified


def staging_gate(in_scope: list[Db], settings: Mapping[str, Any], check_mode: bool = False,
                 rotation_result: Mapping[str, Any] | None = None, databases_after: list[Db] | None = None,
                 probes: list[Mapping[str, Any]] | None = None, reachable: list[str] | None = None,
                 usage_databases: list[Db] | None = None, client_hosts: list[str] | None = None,
                 hostvars: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The staging gate: ``checks`` (``{check, ok, detail}``), ``passed``, the ``lines`` to show, the stop ``reason``.

    In check mode nothing was rotated: each check is predicted from what discovery read (CAs, probes, the
    clients' audit) and what the staging rotation plans, so that the dry run stops where the real run would.
    """
    target = settings.get("target_ca")
    accounts = multi_account(settings)
    staging = [db for db in in_scope if db.get("phase") == "staging"]
    predicted = " (predicted)" if check_mode else ""
    checks = []
    if rotation_result is not None:
        checks.append(_gate_rotation(rotation_result, check_mode))
    if check_mode:
        after, rotated = _planned_after(staging, rotation_result, target, accounts)
    else:
        after, rotated = dict((label_of(db, accounts), db) for db in databases_after or []), []
    skipped = [label_of(item, accounts, m) for item in (rotation_result or {}).get("databases") or []
               if item.get("status") == rotation.SKIPPED for m in item.get("members") or []]
    check, on_target = _gate_on_target(staging, after, skipped, settings, predicted)
    checks.append(check)
    verifiable = _verifiable(staging, on_target)
    if check_mode:
        probes = [] if settings.get("verify") == "none" else _predicted_probes(
            verifiable, rotated, list(reachable or []), list(usage_databases or []), target, accounts)
    probes = list(probes or [])
    checks.append(_gate_probes(probes, target, predicted))
    by_clients: list[str] = []
    if settings.get("client_verify"):
        check, by_clients = _gate_clients(list(client_hosts or []), hostvars or {}, verifiable, settings, check_mode, predicted)
        checks.append(check)
    if settings.get("require_verified_staging"):
        verified = list(dict.fromkeys([p["label"] for p in probes if p.get("verified")] + by_clients))
        checks.append({"check": "at least one staging database verified on the target CA", "ok": bool(verified),
                       "detail": (", ".join(verified) + predicted) if verified else
                       "no staging database was verified (none reachable, or none in scope); "
                       "set rdsca_require_verified_staging=false to go without"})
    failed = [c for c in checks if not c["ok"]]
    lines = ["STAGING GATE " + ("FAILED: production does not start" if failed else "PASSED: production may start")]
    lines += ["%s%s: %s" % ("[ok] " if c["ok"] else "[FAIL] ", c["check"], c["detail"]) for c in checks]
    reason = "staging is not verified, production was not started: " + "; ".join(
        "%s - %s" % (c["check"], c["detail"]) for c in failed) if failed else None
    return {"passed": not failed, "checks": checks, "lines": lines, "reason": reason}


# -- the rollback -----------------------------------------------------------------------------------

def _from_report(report: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Every database a rotate report rotated (not planned), with the CA it had before that run."""
    if not report:
        return []
    return [{"region": row.get("region"), "identifier": row.get("identifier"), "to_ca": (row.get("before") or {}).get("ca"),
             "account": _account_id(row.get("account")), "from": "report %s" % report.get("run_id")}
            for row in report.get("databases") or [] if row.get("status") == "rotated" and not row.get("planned")]


def _account_id(value: Any) -> str | None:
    """A 12-digit account ID as text, or None (a report's 'default' account, nothing given)."""
    text = "" if value is None or isinstance(value, bool) else str(value).strip()
    return text if ACCOUNT_ID.match(text) else None


def _with_account_key(item: Any) -> Any:
    """A mapping that names its account as ``account_id`` (rds_ca_facts' accounts option's key) gets it as ``account``,
    the key rds_ca_rotate's ``databases`` option reads; everything else is parsed as it is."""
    if isinstance(item, Mapping) and item.get("account") in (None, "") and item.get("account_id") not in (None, ""):
        return dict(item, account=item["account_id"])
    return item


def rollback_entries(report: Mapping[str, Any] | None, databases: list[Any] | None, to_ca: str | None = None,
                     identifiers: list[str] | None = None, default_region: str | None = None,
                     accounts: bool = False) -> dict[str, Any]:
    """``entries`` (``{label, region, identifier, account, to_ca, from}``) to put back, and ``problems`` (entries not
    understood).

    ``databases`` (rdsca_rollback_databases) are parsed as rds_ca_rotate parses its ``databases`` option
    (``rotation.normalize_entries``): identifiers in ``default_region``, ``region/identifier`` labels,
    ``account/region/identifier`` labels, ARNs, or mappings with ``identifier`` (or ``id``), ``region``, ``account``
    and ``to_ca`` (or ``previous_ca``). ``to_ca`` is the CA of those that do not say. ``account`` is None when the
    entry does not name one (rollback_checks then finds the database in any account, refusing an ambiguous one).
    ``identifiers`` (shell-style patterns) narrows the result. ``accounts``: a run over several accounts, whose
    labels carry the account.
    """
    entries = _from_report(report)
    problems = []
    for item in databases or []:
        # One parser, rds_ca_rotate's: the account of an account/region/identifier label, an ARN or a mapping with it.
        requests, found = rotation.normalize_entries([_with_account_key(item)], default_region)
        problems.extend(found)
        ca = to_ca
        if isinstance(item, Mapping):
            ca = item.get("to_ca") or item.get("previous_ca") or to_ca
        entries.extend({"region": r["region"], "identifier": r["identifier"], "to_ca": ca or None,
                        "account": r.get("account") or None, "from": "rdsca_rollback_databases"} for r in requests)
    out = []
    for entry in entries:
        entry = dict(entry, label=label_of(entry, accounts))
        if not identifiers or match_databases([entry], list(identifiers), keys=("identifier", "label")):
            out.append(entry)
    return {"entries": out, "problems": problems}


def _region_facts(facts: Mapping[str, Any], region: str, account: str | None) -> Mapping[str, Any]:
    """rds_ca_facts ``regions`` entry of ``region`` (in ``account`` when keyed ``account/region``)."""
    regions = facts.get("regions") or {}
    return (regions.get(scope_label(region, account)) if account else None) or regions.get(region) or {}


def rollback_checks(entries: list[Mapping[str, Any]], facts: Mapping[str, Any], accounts: bool = False) -> list[dict[str, Any]]:
    """Each entry with ``found`` and ``refused`` (why it cannot go back, or None) from rds_ca_facts.

    An entry is the database of its region and identifier, in its account when it names one (``accounts``: a
    run over several accounts, whose labels carry the account; the entry takes the database's label).
    Refused: not found, in several accounts while the entry names none, no CA to go back to, a CA that is not
    one of the region's, an expired CA, or one the engine version does not support.
    """
    databases = inventory_records.inventory_databases(facts)  # any detail (issue 20)
    out = []
    for entry in entries:
        matches = [db for db in databases if same_database(db, entry)]
        db = matches[0] if len(matches) == 1 else None
        if db is not None:
            entry = dict(entry, label=label_of(db, accounts), account=entry.get("account") or db.get("account"))
        to_ca = entry.get("to_ca")
        certificates = _region_facts(facts, entry["region"], entry.get("account")).get("certificates") or []
        cert = next((c for c in certificates if c.get("identifier") == to_ca), None)
        if len(matches) > 1:
            why = "in several accounts (%s): name the account, account/region/identifier" % ", ".join(
                sorted(str(m.get("account")) for m in matches))
        elif db is None:
            why = "not found in %s" % scope_label(entry["region"], entry.get("account"))
        elif not to_ca:
            why = "no CA to go back to (rdsca_rollback_to_ca, or to_ca per database)"
        elif cert is None:
            why = "%s is not a CA of %s" % (to_ca, entry["region"])
        elif cert.get("expired"):
            why = "%s expired on %s: a database cannot go back to it" % (to_ca, cert.get("valid_till"))
        elif db.get("supported_cas") is not None and to_ca not in (db.get("supported_cas") or []):
            why = "%s %s does not support %s" % (db.get("engine"), db.get("engine_version"), to_ca)
        else:
            why = None
        out.append(dict(entry, refused=why, found=db is not None))
    return out


def rollback_refused(checked: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The refused entries as rotation results (status not_possible), for the report."""
    return [{"label": e["label"], "region": e["region"], "identifier": e["identifier"], "account": e.get("account"), "members": [e["identifier"]],
             "status": "not_possible", "action": "none", "reason": e["refused"], "target_ca": e.get("to_ca")}
            for e in checked if e.get("refused")]
