"""The run report (plugin_utils.report, report_render and their filters): rows, summaries a change board reads,
natural order, grouping, charts, escaping, long messages, and the size of a 5,000-database page (issues 16, 19)."""

from __future__ import annotations

import collections
import html as htmllib
import random
import re
import time
from html.parser import HTMLParser

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.rdsca.rotation.plugins.filter.report_html import FilterModule as Html
from ansible_collections.rdsca.rotation.plugins.filter.report_lines import FilterModule as Lines
from ansible_collections.rdsca.rotation.plugins.filter.report_markdown import FilterModule as Markdown
from ansible_collections.rdsca.rotation.plugins.filter.run_report import FilterModule as Report
from ansible_collections.rdsca.rotation.plugins.module_utils import inventory_records
from ansible_collections.rdsca.rotation.plugins.modules import rds_ca_facts, rds_ca_rotate, rds_ssl_usage
from ansible_collections.rdsca.rotation.plugins.plugin_utils import report as report_lib
from ansible_collections.rdsca.rotation.plugins.plugin_utils import report_render

from ansible_collections.rdsca.rotation.tests.unit.plugins.plugin_utils.fleet_results import (
    TARGET, audit_input, facts_database, playbook_databases, rotate_input, rotate_result, usage_database)

run_report = Report().filters()["run_report"]
report_html = Html().filters()["report_html"]
report_markdown = Markdown().filters()["report_markdown"]
report_lines = Lines().filters()["report_lines"]


def returned_keys(module, name="databases"):
    return set(yaml.safe_load(module.RETURN)[name]["contains"])


# -- the synthetic results are shaped as the modules document them ----------------------------------------------------

def test_synthetic_results_have_the_modules_documented_shape():
    import random  # pylint: disable=import-outside-toplevel
    db = facts_database(3, random.Random(1))
    assert set(db) == returned_keys(rds_ca_facts)
    rotated = rotate_result(dict(playbook_databases(1)[0]), 0, 1, report_lib.datetime.now(report_lib.timezone.utc))
    assert set(rotated) - {"batch"} == returned_keys(rds_ca_rotate)  # batch: added by rotate_batch.yml
    usage = usage_database(db, 0)
    read_by_report = {"ssl_in_use", "ssl_in_use_reason", "ssl_enforced", "ssl_clients", "probe", "error", "safe_without_restart"}
    assert read_by_report <= returned_keys(rds_ssl_usage) and read_by_report <= set(usage)


# -- order ---------------------------------------------------------------------------------------------------------------

def test_natural_order():
    names = ["db-100", "db-10", "db-2", "DB-1", "db-1a", "db"]
    assert sorted(names, key=report_lib.natural_key) == ["db", "DB-1", "db-1a", "db-2", "db-10", "db-100"]


def test_rows_and_groups_are_naturally_sorted():
    names = ["app-%d" % n for n in (100, 10, 2, 1)]
    report = run_report(audit_input(4, names=names))
    labels = [row["identifier"] for row in report["databases"]]
    regions = [row["region"] for row in report["databases"]]
    # Sorted by region/identifier, the digit runs as numbers.
    assert sorted(zip(regions, labels), key=lambda p: report_lib.natural_key("%s/%s" % p)) == list(zip(regions, labels))
    same = [dict(db, region="us-east-1", label="us-east-1/" + db["identifier"], needs_rotation=True)
            for db in playbook_databases(4, names=names)]
    single = run_report(dict(audit_input(4, names=names), databases=same))
    assert [row["identifier"] for row in single["databases"]] == ["app-1", "app-2", "app-10", "app-100"]
    page = report_html(single)
    positions = [page.index("<code>us-east-1/app-%d</code>" % n) for n in (1, 2, 10, 100)]
    assert positions == sorted(positions)


# -- the summary a change board reads --------------------------------------------------------------------------------

def test_summary_counts_every_dimension():
    data = audit_input(300)
    report = run_report(data)
    s, dbs = report["summary"], data["databases"]
    assert s["by_region"] == dict(sorted(collections.Counter(d["region"] for d in dbs).items()))
    assert s["by_engine"] == dict(sorted(collections.Counter(d["engine"] for d in dbs).items()))
    assert s["by_ca"] == dict(sorted(collections.Counter(d["current_ca"] for d in dbs).items()))
    assert s["by_account"] == dict(sorted(collections.Counter(d["arn"].split(":")[4] for d in dbs).items()))
    assert sum(s["by_environment"].values()) == 300 and s["by_environment"]["(no tag)"] == sum(1 for d in dbs if not d["environment"])
    assert sum(s["by_restart"].values()) == 300
    assert s["needs_rotation"] == sum(1 for d in dbs if d["needs_rotation"])


@pytest.mark.parametrize("kind", ["audit", "rotate"])
def test_the_breakdowns_are_shown_before_the_charts_and_the_detail(kind):
    """Issue 19: the summary a change board reads first shows the counts by account, region, engine, environment, CA
    and restart behaviour (HTML: before the charts and the database rows; Markdown: in its Summary section)."""
    report = run_report(audit_input(300) if kind == "audit" else rotate_input(300))
    page = report_html(report)
    summary = page[page.index('id="summary"'):page.index('id="charts"')]
    markdown = report_markdown(report)
    md_summary = markdown[markdown.index("## Summary"):]
    md_summary = md_summary[:md_summary.index("\n## ", 3)]
    s = report["summary"]
    for name, key in report_render.BREAKDOWN:
        assert "<th>%s</th>" % name in summary, name
        for value, count in list(s[key].items())[:report_render.CHIPS]:
            assert '<span class="chip">%s <b>%d</b></span>' % (htmllib.escape(value.replace("_", " ")), count) in summary, \
                (key, value)
        if key != "by_status":
            assert "- by %s: " % name in md_summary, name
    assert len(s["by_account"]) >= 1 and len(s["by_region"]) > 1 and len(s["by_engine"]) > 1 and len(s["by_restart"]) > 1


def test_account_field_else_arn_else_default():
    assert report_lib.account_of({"account": "prod", "arn": "arn:aws:rds:us-east-1:123456789012:db:x"}) == "prod"
    assert report_lib.account_of({"arn": "arn:aws:rds:us-east-1:123456789012:db:x"}) == "123456789012"
    assert report_lib.account_of({"arn": None}) == "default"


def test_restarts_are_the_modules_verdicts_and_say_when():
    data = audit_input(400)
    report = run_report(data)
    restarting = set(item["label"] for item in report["summary"]["restarts"])
    # rds_ca_facts said would_restart true for exactly these (needing rotation): the report does not decide.
    assert restarting == set(d["label"] for d in data["databases"] if d["needs_rotation"] and d["would_restart"] is True)
    due = [i for i in report["summary"]["restarts"] if "2027-01-10" in i["when"]]
    assert due and all(i["when"].startswith("when rotated") for i in due)
    # After a run: rds_ca_rotate saw the instance reboot, though its plan said no restart - it restarted.
    rot = rotate_input(20)
    phase = next(iter(rot["rotations"]))
    item = next(d for d in rot["rotations"][phase]["databases"] if d["status"] == "rotated")
    item.update(would_restart=False, statuses_seen=["modifying", "rebooting", "available"])
    row = next(r for r in run_report(rot)["databases"] if r["label"] == item["label"])
    assert row["restart"]["restarted"] is True and row["restart"]["text"] == "restarted"


def test_held_back_groups_by_reason():
    rot = rotate_input(400)
    report = run_report(rot)
    failed = [g for g in report["summary"]["held_back"] if g["status"] == "failed"]
    assert failed and sum(g["count"] for g in failed) == report["summary"]["by_status"]["failed"]
    audit = run_report(audit_input(400))
    blocked = [g for g in audit["summary"]["held_back"] if g["status"] == "blocked"]
    expected = [d["label"] for d in audit_input(400)["databases"] if d["needs_rotation"] and d["target_ca_supported"] is False]
    assert len(blocked) == 1 and sorted(blocked[0]["labels"]) == sorted(expected) and expected


def test_rotate_report_keeps_the_playbook_fields():
    report = run_report(rotate_input(50, check=True))
    assert report["outcome"] in ("planned", "completed_with_failures") and report["mode"] == "check"
    row = next(r for r in report["databases"] if r["status"] == "rotated")
    assert row["after"] == {"ca": TARGET, "pending_ca": None, "predicted": True} and row["planned"] is True
    assert set(row) >= {"label", "region", "identifier", "cluster_id", "cluster_role", "engine", "engine_version", "environment",
                        "phase", "endpoint", "before", "after", "status", "action", "reason", "batch", "planned", "restart",
                        "ssl", "verification", "timing", "error"}
    assert "would be rotated" in report_markdown(report)
    assert any("(check mode: nothing was changed)" in line for line in report_lines(report, "/r/rotate-x"))
    assert report_lines(report, "/r/rotate-x")[-1] == "report: /r/rotate-x.html (also .md, .json)"


# -- HTML ------------------------------------------------------------------------------------------------------------------

class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self.stack, self.problems = collections.Counter(), 0, [], []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        if tag not in ("meta", "br", "input"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
        else:
            self.problems.append(tag)


def test_html_is_self_contained_balanced_and_leads_with_the_summary():
    page = report_html(run_report(rotate_input(200)))
    parser = Tags()
    parser.feed(page)
    assert parser.problems == [] and parser.stack == []
    assert not re.search(r"""(src|href)=["']?(https?:)?//|@import|url\(""", page)
    assert parser.tags["script"] == 1 and parser.tags["svg"] == 3
    assert page.index('id="summary"') < page.index('id="charts"') < page.index('id="databases"')
    assert "Rotation timeline" in page and "CA per region" in page and "Days left until the CA expires" in page


def test_hostile_names_and_tags_are_escaped():
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>|x'
    data = audit_input(5)
    data["databases"][0].update(identifier=evil, label="us-east-1/" + evil, environment=evil, tags={"Environment": evil},
                                engine_version=evil)
    data["usage"]["databases"][0].update(identifier=evil, region="us-east-1", ssl_in_use_reason=evil)
    data["warnings"] = [evil]
    data["settings"]["run_id"] = evil
    report = run_report(data)
    page, markdown = report_html(report), report_markdown(report)
    parser = Tags()
    parser.feed(page)
    assert parser.tags["img"] == 0 and parser.tags["script"] == 1, "a database name became markup"
    assert "<script>alert" not in page and "onerror=alert(2)>" not in page
    assert htmllib.escape(evil) in page
    assert "<script>" not in markdown and "<img" not in markdown and "\\|x" in markdown


def test_long_warnings_are_summarized_with_where_the_full_list_is():
    data = audit_input(1000)
    report = run_report(data)
    other = [d["label"] for d in data["databases"] if d["phase"] == "other"]
    assert len(report["warnings"][0]) > 5000  # the JSON keeps the full list
    page = report_html(report)
    warnings = page[page.index("id=\"warnings\""):]
    item = warnings[warnings.index("<li>"):warnings.index("</li>")]
    assert len(item) < 600 and str(len(other)) in item and "and %d more" % (len(other) - 5) in item
    assert "warnings[0]" in item and other[0] in item
    assert "and %d more" % (len(other) - 5) in report_markdown(report)


def test_audit_report_says_it_changes_nothing():
    page = report_html(run_report(audit_input(20)))
    assert "An audit reads and changes nothing." in page and "are rotated" not in page


def test_databases_are_grouped_collapsible_and_filterable():
    report = run_report(rotate_input(400))
    page = report_html(report)
    groups = re.findall(r'<details class="grp"( open)?><summary><span class="b \w+">([^<]+)</span> <span class="cnt">(\d+)', page)
    assert {g[1].replace(" ", "_"): int(g[2]) for g in groups} == report["summary"]["by_status"]
    assert [g[1] for g in groups][0] == "failed"  # what needs attention first
    assert page.count("<tr data-s=") == 400 and 'id="fq"' in page and 'id="fs"' in page and 'id="fr"' in page


# -- charts ----------------------------------------------------------------------------------------------------------------

def test_days_left_histogram_counts_every_database():
    report = run_report(audit_input(500))
    bands = report_render.days_histogram(report["databases"])
    assert sum(bands.values()) == 500
    assert bands["expired"] == sum(1 for r in report["databases"] if r["before"]["ca_days_left"] < 0)


def test_timeline_lanes_per_phase_and_batch():
    report = run_report(rotate_input(600, batch_size=50))
    lanes = report_render.timeline_lanes(report["databases"])
    assert [lane["phase"] for lane in lanes][0] == "staging"
    production = [lane for lane in lanes if lane["phase"] == "production"]
    assert [lane["batch"] for lane in production] == sorted(lane["batch"] for lane in production)
    assert sum(lane["databases"] for lane in lanes) == report["summary"]["by_phase"].get("staging", 0) + \
        report["summary"]["by_phase"].get("production", 0)
    assert all(lane["start"] <= lane["end"] for lane in production if lane["start"] is not None)


# -- scale -------------------------------------------------------------------------------------------------------------------

def test_5000_databases_stay_small_and_fast():
    started = time.monotonic()
    report = run_report(audit_input(5000))
    page, markdown = report_html(report), report_markdown(report)
    assert time.monotonic() - started < 20
    assert len(page.encode()) < 4 * 1024 * 1024 and len(markdown.encode()) < 3 * 1024 * 1024


def test_bad_input_is_refused():
    with pytest.raises(AnsibleFilterError):
        run_report(["not", "a", "dict"])
    with pytest.raises(AnsibleFilterError):
        run_report({"databases": "x"})
    with pytest.raises(AnsibleFilterError):
        report_html({"kind": "audit"})
    with pytest.raises(AnsibleFilterError):
        report_markdown(None)


def test_the_report_task_file_only_orchestrates():
    """Issue 16: the report's logic lives here, not in Jinja statements of playbooks/tasks/report.yml."""
    import os  # pylint: disable=import-outside-toplevel
    path = os.path.join(os.path.dirname(report_lib.__file__), "..", "..", "playbooks", "tasks", "report.yml")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    assert "{%" not in text and "rdsca.rotation.run_report" in text and "rdsca.rotation.report_html" in text


def test_long_text_without_a_list_is_cut_and_says_where_the_rest_is():
    text = "x" * 3000
    short = report_render.summarize_text(text, "the JSON report's failures[2]")
    assert len(short) < 500 and "3000 characters" in short and "failures[2]" in short
    assert report_render.summarize_text("short: a, b", "anywhere") == "short: a, b"


def test_closing_lines_stay_short_with_many_failures():
    rot = rotate_input(3000)
    report = run_report(rot)
    assert report["summary"]["failures"] > 20
    lines = report_lines(report, "/r/rotate-x")
    assert sum(1 for line in lines if line.startswith("FAILURE")) == 20
    assert any(line.startswith("... and %d more failures" % (report["summary"]["failures"] - 20)) for line in lines)
    assert max(len(line) for line in lines) < 1000


@pytest.mark.parametrize("name", ["report_html", "report_markdown", "report_lines"])
def test_report_filters_refuse_what_run_report_did_not_make(name):
    import importlib  # pylint: disable=import-outside-toplevel
    from ansible.errors import AnsibleFilterError  # pylint: disable=import-outside-toplevel

    plugin = importlib.import_module("ansible_collections.rdsca.rotation.plugins.filter." + name)
    render = plugin.FilterModule().filters()[name]
    args = ("/tmp/run",) if name == "report_lines" else ()
    for bad in (None, [], {"databases": []}):
        with pytest.raises(AnsibleFilterError, match="rdsca.rotation.%s needs a report made by" % name):
            render(bad, *args)


def test_the_report_reads_compact_and_summary_mode_inventories(tmp_path):
    """Issue 20: facts_after (and facts_before) registered with detail=compact, or detail=summary with the records in
    output_file, give the same report as full records; a file of another run is refused."""
    data = rotate_input(40)
    after = [dict(facts_database(i, random.Random(i), name=db["identifier"]), region=db["region"],
                  current_ca=TARGET) for i, db in enumerate(data["databases"])]
    full = {"detail": "full", "databases": after, "summary": {"databases": len(after)}}
    path = str(tmp_path / "after.jsonl")
    inventory_records.write_records(path, inventory_records.shape_databases(after, "compact"))
    compact = dict(full, detail="compact", databases=inventory_records.shape_databases(after, "compact"))
    summary = dict(full, detail="summary", databases=[], output_file=path)

    now = report_lib.datetime(2026, 12, 1, 13, 0, tzinfo=report_lib.timezone.utc)

    def report(facts_after):
        return report_lib.build_report(dict(data, facts_after=facts_after), now=now)

    expected = report(full)
    assert report(compact) == expected and report(summary) == expected
    assert "rotated" in str(expected)  # the after-reads were used: databases on the target are reported rotated
    with pytest.raises(ValueError, match="the file is not this run's inventory"):
        report(dict(summary, summary={"databases": 41}))
