"""The inventory playbook's Markdown report (issue 19): the summary first, naturally sorted, from rds_ca_facts results;
no Jinja statement left in the playbooks."""

from __future__ import annotations

import os
import random
import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rdsca.rotation.plugins.filter.inventory_markdown import inventory_markdown
from ansible_collections.rdsca.rotation.plugins.plugin_utils import report_inventory

from ansible_collections.rdsca.rotation.tests.unit.plugins.plugin_utils.fleet_results import TARGET, facts_database

PLAYBOOKS = os.path.join(os.path.dirname(report_inventory.__file__), "..", "..", "playbooks")
ROLES = os.path.join(os.path.dirname(report_inventory.__file__), "..", "..", "roles")


def facts(n: int = 120, failed: list | None = None) -> dict:
    """An rds_ca_facts result, its databases as the module returns them (fleet_results: every RETURN key)."""
    rng = random.Random(3)
    dbs = [facts_database(i, rng) for i in range(n)]
    regions = sorted(set(db["region"] for db in dbs))
    return {"changed": False, "generated_at": "2026-12-01T12:00:00Z", "target_ca": TARGET, "target_ca_problems": [],
            "regions_queried": regions, "databases": dbs, "failed_regions": failed or [],
            "regions": dict((r, {"region": r, "default_ca_for_new_launches": TARGET, "customer_override": None,
                                 "counts": {"databases": sum(1 for db in dbs if db["region"] == r),
                                            "needs_rotation": sum(1 for db in dbs if db["region"] == r and db["needs_rotation"])}})
                            for r in regions),
            "summary": {"databases": n, "needs_rotation": sum(1 for db in dbs if db["needs_rotation"]), "expired": 0}}


def section(text: str, title: str) -> str:
    start = text.index(title)
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def test_the_summary_comes_first_with_the_breakdowns_a_change_board_asks_for():
    inv = facts()
    text = inventory_markdown(inv)
    assert text.index("## Summary") < text.index("## Databases") < text.index("## Regions")
    summary = section(text, "## Summary")
    needing = [db for db in inv["databases"] if db["needs_rotation"]]
    assert "**%d need rotation** to `%s`" % (len(needing), TARGET) in summary
    for name in ("account", "region", "engine", "environment", "CA", "restart if rotated", "reason"):
        assert "\n- by %s: " % name in summary, name
    by_region = re.search(r"^- by region: (.*)$", summary, re.M).group(1)
    assert sum(int(n) for n in re.findall(r" (\d+)(?:,|$)", by_region)) == len(inv["databases"])
    restarting = [db for db in needing if db["would_restart"] is True]
    assert "(%d of them would restart if rotated now)" % len(restarting) in summary
    assert "### What would restart when rotated" in summary and "### What needs rotation, and why" in summary


def test_databases_are_sorted_naturally_per_region_not_as_text():
    """The Jinja template sorted by region only, and as text elsewhere: db-1, db-10, db-100, db-11."""
    text = inventory_markdown(facts())
    for block in section(text, "## Databases").split("\n### ")[1:]:
        ids = [int(m) for m in re.findall(r"^\| db-(\d+)", block, re.M)]
        assert ids and ids == sorted(ids), block[:300]
    assert re.findall(r"^\| ([a-z]{2}-[a-z]+-\d) \|", section(text, "## Regions"), re.M) == sorted(
        facts()["regions"], key=lambda r: (r.split("-")[0], r.split("-")[1], int(r.split("-")[2])))


def test_every_database_is_a_row_once():
    inv = facts(57)
    rows = re.findall(r"^\| (db-\d+)(?: \(| \|)", section(inventory_markdown(inv), "## Databases"), re.M)
    assert sorted(rows) == sorted(db["identifier"] for db in inv["databases"])


def test_over_several_accounts_a_row_names_the_database_once_under_its_account_and_region():
    """The heading says account/region; the row, as in a single-account inventory, the identifier only."""
    inv = facts(6)
    for number, db in enumerate(inv["databases"]):
        db["account"] = "111111111111" if number % 2 else "222222222222"
        db["label"] = "%s/%s/%s" % (db["account"], db["region"], db["identifier"])
    rows = re.findall(r"^\| ([^|]+?) \|", section(inventory_markdown(inv), "## Databases"), re.M)
    rows = [row for row in rows if row not in ("database", "---")]
    assert sorted(row.split(" (")[0] for row in rows) == sorted(db["identifier"] for db in inv["databases"])


def test_failed_regions_are_in_the_summary():
    inv = facts(10, failed=[{"region": "ap-south-1", "operation": "DescribeDBInstances", "error_code": "AccessDenied",
                             "message": "not allowed"}])
    summary = section(inventory_markdown(inv), "## Summary")
    assert "could not be read" in summary and "ap-south-1: AccessDenied - not allowed" in summary


def test_accounts_that_could_not_be_read_are_in_the_summary():
    """Issue 17: an account whose role was refused is not silently missing from the inventory."""
    inv = dict(facts(4), failed_accounts=[{"account": "333333333333", "role_arn": "arn:aws:iam::333333333333:role/r",
                                           "error_code": "AccessDenied", "message": "not authorized"}])
    summary = section(inventory_markdown(inv), "## Summary")
    assert "### Accounts that could not be read (their databases are unknown, not inventoried)" in summary
    assert "- **333333333333**: AccessDenied - not authorized" in summary
    assert "could not be read" not in section(inventory_markdown(facts(4)), "## Summary")


def test_names_from_the_estate_cannot_break_the_table_or_inject_markup():
    inv = facts(3)
    inv["databases"][0]["environment"] = "prod|<script>x</script>\nnext"
    line = [l for l in inventory_markdown(inv).splitlines() if "&lt;script&gt;" in l and l.startswith("| ")]
    assert len(line) == 1 and "prod\\|&lt;script&gt;" in line[0] and "<script>" not in line[0]


@pytest.mark.parametrize("bad", [None, [], {"databases": []}, {"summary": {}}, "text"])
def test_anything_but_an_rds_ca_facts_result_is_refused_with_a_sentence(bad):
    with pytest.raises(AnsibleFilterError, match="needs the result of rdsca.rotation.rds_ca_facts"):
        inventory_markdown(bad)


def test_no_jinja_statement_is_left_in_the_playbooks_or_roles():
    """Issue 16/19: playbook logic lives in tested filters; the inventory template was the last Jinja logic."""
    found = []
    for root in (PLAYBOOKS, ROLES):
        for top, _dirs, files in os.walk(root):
            for name in files:
                with open(os.path.join(top, name), encoding="utf-8", errors="replace") as handle:
                    found += ["%s:%d" % (os.path.join(top, name), n) for n, line in enumerate(handle, 1) if "{%" in line]
    assert found == []
