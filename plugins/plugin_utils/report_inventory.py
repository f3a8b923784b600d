# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The inventory playbook's Markdown report, from what rds_ca_facts returned.

The same layout as the run reports (plugin_utils.report_render): what a change advisory board asks first -
counts by account, region, engine, environment, CA and restart behaviour, what would restart when rotated,
what needs rotation and why, the regions that could not be read - then the detail, one table per region, the
databases naturally sorted (db-2 before db-10). Every value from the estate is escaped (report_render.cell).
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.rdsca.rotation.plugins.module_utils import inventory_records
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import db_label as rds_domain_label
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import scope_label
from ansible_collections.rdsca.rotation.plugins.plugin_utils.report import account_of, counts, natural_key
from ansible_collections.rdsca.rotation.plugins.plugin_utils.report_render import cell, first_few, md_counts, words

RESTART_WORDS = {True: "restart if rotated", False: "no restart"}


def check_inventory(facts: Any, name: str = "inventory_markdown") -> dict[str, Any]:
    """``facts`` when it is what rds_ca_facts returns (databases and summary); otherwise the filter fails saying so."""
    if not isinstance(facts, dict) or not isinstance(facts.get("databases"), list) or not isinstance(facts.get("summary"), dict):
        raise AnsibleFilterError("rdsca.rotation.%s needs the result of rdsca.rotation.rds_ca_facts (with databases and summary)"
                                 % name)
    return inventory_records.inventory_result(facts)  # any detail: compact records, or summary mode's output_file


def db_label(db: dict[str, Any]) -> str:
    """The database's label (account/region/identifier over several accounts), and the cluster it belongs to."""
    return (db.get("label") or rds_domain_label(db.get("region"), db.get("identifier"))) + _cluster_note(db)


def _cluster_note(db: dict[str, Any]) -> str:
    return " (%s of %s)" % (db.get("cluster_role") or "member", db["cluster_id"]) if db.get("cluster_id") else ""


def restart_word(db: dict[str, Any]) -> str:
    return RESTART_WORDS.get(db.get("would_restart"), "unknown")


def sorted_dbs(databases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Account, region, then identifier, each in natural order."""
    return sorted(databases, key=lambda db: (natural_key(account_of(db)), natural_key(db.get("region")),
                                             natural_key(db.get("identifier"))))


def inventory_summary(facts: dict[str, Any]) -> list[str]:
    dbs, summary = facts["databases"], facts["summary"]
    needing = [db for db in sorted_dbs(dbs) if db.get("needs_rotation")]
    restarting = [db for db in needing if db.get("would_restart") is True]
    lines = ["## Summary", "",
             "- %d databases in %d regions; **%d need rotation** to `%s` (%d of them would restart if rotated now)"
             % (len(dbs), len(facts.get("regions_queried") or []), len(needing), cell(facts.get("target_ca")), len(restarting))]
    breakdown = (("account", account_of), ("region", lambda db: db.get("region")), ("engine", lambda db: db.get("engine")),
                 ("environment", lambda db: db.get("environment")), ("CA", lambda db: db.get("current_ca")),
                 ("restart if rotated", restart_word), ("reason", lambda db: db.get("reason")))
    lines += ["- by %s: %s" % (name, md_counts(counts(dbs, key, missing="untagged" if name == "environment" else "-")))
              for name, key in breakdown]
    if summary.get("expired"):
        lines.append("- **CA expired**: %d" % summary["expired"])
    expiring = {k: v for k, v in (summary.get("expiring") or {}).items() if v}
    if expiring:
        lines.append("- CA expiring: %s" % md_counts(expiring))
    problems = facts.get("target_ca_problems") or []
    lines += ["- **cannot rotate to the target CA**: %s" % cell(problem) for problem in problems]
    failed = facts.get("failed_regions") or []
    if failed:
        lines += ["", "### Regions that could not be read (the inventory is incomplete for them)", ""]
        lines += ["- %s: %s - %s" % (cell(f.get("region")), cell(f.get("error_code")), cell(f.get("message")))
                  for f in sorted(failed, key=lambda f: natural_key(f.get("region")))]
    refused = facts.get("failed_accounts") or []
    if refused:
        # An account whose role could not be assumed: its databases are unknown, not absent (issue 17).
        lines += ["", "### Accounts that could not be read (their databases are unknown, not inventoried)", ""]
        lines += ["- **%s**: %s - %s" % (cell(f.get("account") or f.get("role_arn")), cell(f.get("error_code")), cell(f.get("message")))
                  for f in sorted(refused, key=lambda f: natural_key(str(f.get("account") or f.get("role_arn"))))]
    lines += ["", "### What would restart when rotated", ""]
    lines += (["- **%d**: %s" % (len(restarting), cell(first_few([db_label(db) for db in restarting], "see Databases")))]
              if restarting else ["Nothing."])
    lines += ["", "### What needs rotation, and why", ""]
    by_reason: dict[str, list[str]] = {}
    for db in needing:
        by_reason.setdefault(str(db.get("reason") or "-"), []).append(db_label(db))
    lines += ["- %s **%d**: %s" % (cell(words(reason)), len(labels), cell(first_few(labels, "see Databases", 3)))
              for reason, labels in sorted(by_reason.items(), key=lambda item: (-len(item[1]), natural_key(item[0])))] or ["Nothing."]
    return lines


def inventory_row(db: dict[str, Any]) -> str:
    ca = cell(db.get("current_ca")) + (" → %s (pending)" % cell(db["pending_ca"]) if db.get("pending_ca") else "")
    till = cell(db.get("ca_valid_till")) + (" (expired)" if db.get("ca_expired") else
                                            " (%s days)" % db["ca_days_left"] if isinstance(db.get("ca_days_left"), int) else "")
    return "| %s | %s %s | %s | %s | %s | %s | %s | %s |" % (
        cell(str(db.get("identifier")) + _cluster_note(db)), cell(db.get("engine")), cell(db.get("engine_version")),
        cell(db.get("environment") or "-"), ca, till, "**yes**" if db.get("needs_rotation") else "no",
        cell(words(db.get("reason") or "-")), restart_word(db))


def inventory_databases(facts: dict[str, Any]) -> list[str]:
    head = ["| database | engine | environment | CA | CA valid till | needs rotation | reason | restart if rotated |",
            "|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for db in sorted_dbs(facts["databases"]):
        groups.setdefault((account_of(db), str(db.get("region"))), []).append(db)
    accounts = set(key[0] for key in groups)
    lines = ["", "## Databases"]
    for (account, region), dbs in groups.items():
        where = scope_label(region, account) if len(accounts) > 1 else region
        needing = sum(1 for db in dbs if db.get("needs_rotation"))
        lines += ["", "### %s (%d, %d need rotation)" % (cell(where), len(dbs), needing), ""] + head
        lines += [inventory_row(db) for db in dbs]
    if not groups:
        lines += ["", "None."]
    return lines


def inventory_regions(facts: dict[str, Any]) -> list[str]:
    lines = ["", "## Regions", "", "| region | default CA for new launches | customer override | databases | need rotation |",
             "|---|---|---|---|---|"]
    regions = sorted((facts.get("regions") or {}).values(), key=lambda r: natural_key(r.get("region")))
    lines += ["| %s | %s | %s | %s | %s |" % (
        cell(r.get("region")), cell(r.get("default_ca_for_new_launches")), cell(r.get("customer_override") or "-"),
        cell((r.get("counts") or {}).get("databases")), cell((r.get("counts") or {}).get("needs_rotation"))) for r in regions]
    return lines


def render_inventory_markdown(facts: Any) -> str:
    """The inventory report in Markdown: the summary first, then the databases per region, then the regions."""
    facts = check_inventory(facts)
    lines = ["# RDS certificate authority inventory", "",
             "Generated %s, target CA `%s`, regions %s. An inventory reads and changes nothing."
             % (cell(facts.get("generated_at")), cell(facts.get("target_ca")), cell(", ".join(facts.get("regions_queried") or []) or "-")),
             ""]
    lines += inventory_summary(facts) + inventory_databases(facts) + inventory_regions(facts)
    return "\n".join(lines) + "\n"
