"""The clients nobody manages (issue 18) in the pre-flight and the run report: the stop decision
(rdsca_stop_on_unmanaged_tls_clients), the report's section in JSON, Markdown, HTML and the closing lines.

The coverage comes from the real client_coverage filter over evidence made by the collection's own parsers
(connection log lines through pg_connection_log, sessions through ssl_usage.UsageWindow)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rdsca.rotation.plugins.filter.client_coverage import FilterModule as Coverage
from ansible_collections.rdsca.rotation.plugins.filter.client_coverage_findings import FilterModule as Findings
from ansible_collections.rdsca.rotation.plugins.filter.report_html import FilterModule as Html
from ansible_collections.rdsca.rotation.plugins.filter.report_lines import FilterModule as Lines
from ansible_collections.rdsca.rotation.plugins.filter.report_markdown import FilterModule as Markdown
from ansible_collections.rdsca.rotation.plugins.filter.run_report import FilterModule as Report
from ansible_collections.rdsca.rotation.plugins.module_utils import pg_connection_log as pcl
from ansible_collections.rdsca.rotation.plugins.module_utils import ssl_usage
from ansible_collections.rdsca.rotation.plugins.plugin_utils import coverage_report

from ansible_collections.rdsca.rotation.tests.unit.plugins.plugin_utils.fleet_results import audit_input, rotate_input

client_coverage = Coverage().filters()["client_coverage"]
findings = Findings().filters()["client_coverage_findings"]
run_report = Report().filters()["run_report"]
report_html = Html().filters()["report_html"]
report_markdown = Markdown().filters()["report_markdown"]
report_lines = Lines().filters()["report_lines"]

LOG = """\
2026-12-01 10:00:02 UTC:10.0.1.5(51234):app@orders:[4242]:LOG:  connection authorized: user=app database=orders \
application_name=orders-api SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)
2026-12-01 10:10:00 UTC:10.0.7.7(40001):report@orders:[4244]:LOG:  connection authorized: user=report \
database=orders application_name=<b>bi</b> SSL enabled (protocol=TLSv1.2, cipher=ECDHE-RSA-AES256-GCM-SHA384, bits=256)
2026-12-01 11:10:00 UTC:10.0.7.7(40009):report@orders:[4249]:LOG:  connection authorized: user=report \
database=orders application_name=<b>bi</b> SSL enabled (protocol=TLSv1.2, cipher=ECDHE-RSA-AES256-GCM-SHA384, bits=256)
2026-12-01 10:20:00 UTC:10.0.5.17(40002):etl@orders:[4245]:LOG:  connection authorized: user=etl \
database=orders application_name=etl SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)
"""
HOSTVARS = {
    "api-1": {"ansible_host": "10.0.1.5"},
    "idle-1": {"ansible_host": "10.0.4.4"},
    "noaddr-1": {"ansible_host": "noaddr-1.internal"},
}
SHARED = {"10.0.5.0/24": "NAT gateway nat-0abc"}


def log_clients(text):
    log = pcl.ConnectionLog(pcl.RDS_DEFAULT_PREFIX, exclude_users=["rdsadmin"])
    log.feed(text)
    log.end_file()
    return log.clients()


def usage_databases():
    window = ssl_usage.UsageWindow()
    window.add([ssl_usage.session(key=1, user="ops", database="inventory", application_name="psql",
                                  client_address="10.0.9.9", client_port=50001, transport="tcp")])
    return [{"identifier": "orders-prod", "region": "eu-west-1", "usage": {"available": False},
             "log_evidence": {"complete": True, "clients": log_clients(LOG)}},
            {"identifier": "inventory-prod", "region": "us-east-1", "usage": {"available": True}, "clients": window.clients(),
             "log_evidence": {"complete": False}}]


def coverage(databases=None):
    return client_coverage({"databases": usage_databases() if databases is None else databases}, sorted(HOSTVARS),
                           HOSTVARS, shared_addresses=SHARED)


# -- the pre-flight decision --------------------------------------------------------------------------------------------------

def test_unmanaged_tls_clients_are_a_warning_by_default_and_stop_nothing():
    out = findings(coverage())
    assert out["stop"] is False and out["problems"] == []
    assert any("1 TLS client(s) that no managed host accounts for" in w and "10.0.7.7" in w and "user report" in w
               and "eu-west-1/orders-prod" in w for w in out["warnings"]), out["warnings"]
    assert out["lines"][0].startswith("TLS clients nobody manages: 10.0.7.7 (user report, application <b>bi</b>")
    assert "managed hosts never seen: idle-1" in out["lines"]
    assert "noaddr-1" in out["lines"][-1]


def test_the_stop_option_makes_unmanaged_tls_clients_a_problem_that_names_the_way_out():
    out = findings(coverage(), stop_on_unmanaged=True)
    assert out["stop"] is True and len(out["problems"]) == 1
    assert "10.0.7.7" in out["problems"][0] and "rdsca_stop_on_unmanaged_tls_clients=false" in out["problems"][0]
    # the warning is not said twice
    assert not any("no managed host accounts for" in w for w in out["warnings"])


def test_the_stop_option_without_unmanaged_clients_stops_nothing():
    databases = usage_databases()
    databases[0]["log_evidence"]["clients"] = [c for c in databases[0]["log_evidence"]["clients"] if c["address"] != "10.0.7.7"]
    out = findings(coverage(databases), stop_on_unmanaged=True)
    assert out["stop"] is False and out["problems"] == []
    assert out["lines"][0] == "TLS clients nobody manages: none"


def test_the_stop_option_cannot_be_decided_blind():
    blind = [{"identifier": "orders-prod", "region": "eu-west-1", "usage": {"available": False, "reason": "no credentials"}}]
    assert findings(coverage(blind))["stop"] is False
    out = findings(coverage(blind), stop_on_unmanaged=True)
    assert out["stop"] is True and "no database's clients could be seen" in out["problems"][0]
    assert "no client evidence at all for eu-west-1/orders-prod" in out["lines"][3]


def test_tls_clients_behind_a_shared_address_are_a_warning_not_a_host():
    out = findings(coverage(), stop_on_unmanaged=True)
    shared = [w for w in out["warnings"] if "shared address 10.0.5.17" in w]
    assert len(shared) == 1 and "NAT gateway nat-0abc, not a host" in shared[0]
    assert not any("10.0.5.17" in p for p in out["problems"])


@pytest.mark.parametrize("args, message", [
    (("not a coverage",), "expected the result of rdsca.rotation.client_coverage"),
    (({"unmanaged_tls_clients": "10.0.0.1"},), "expected the result of rdsca.rotation.client_coverage"),
    (({}, "yes"), "stop_on_unmanaged must be true or false"),
])
def test_bad_input_is_refused_clearly(args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        findings(*args)


# -- the report -----------------------------------------------------------------------------------------------------------------

def report_with_coverage(kind="audit", stop=False):
    data = audit_input(6) if kind == "audit" else rotate_input(6)
    data["settings"]["stop_on_unmanaged_tls_clients"] = stop
    data["client_coverage"] = coverage()
    return run_report(data)


def test_the_report_has_the_section_and_its_counts_in_the_summary():
    report = report_with_coverage()
    section = report["client_coverage"]
    assert [c["address"] for c in section["unmanaged_tls_clients"]] == ["10.0.7.7"]
    client = section["unmanaged_tls_clients"][0]
    assert client["users"] == ["report"] and client["databases"] == ["eu-west-1/orders-prod"]
    assert client["first_seen"] == "2026-12-01T10:10:00Z" and client["last_seen"] == "2026-12-01T11:10:00Z"
    assert [s["address"] for s in section["shared_addresses"]] == ["10.0.5.17"]
    assert section["never_seen_hosts"] == ["idle-1"] and section["hosts_without_addresses"] == ["noaddr-1"]
    assert report["summary"]["unmanaged_tls_clients"] == 1 and report["summary"]["never_seen_hosts"] == 1
    assert report["summary"]["shared_addresses"] == 1
    assert section["stop_on_unmanaged"] is False and report_with_coverage(stop=True)["client_coverage"]["stop_on_unmanaged"]


def test_markdown_lists_the_unmanaged_client_near_the_top_and_the_shared_address_as_shared():
    text = report_markdown(report_with_coverage("rotate"))
    assert text.index("## Clients nobody manages") < text.index("## Databases")
    assert "TLS clients no managed host accounts for: **1**" in text
    rows = [line for line in text.splitlines() if line.startswith("| 10.0.")]
    assert rows[0].startswith("| 10.0.7.7 | unmanaged TLS client | TLS | report | eu-west-1/orders-prod | &lt;b&gt;bi&lt;/b&gt; "
                              "| 2026-12-01T10:10:00Z | 2026-12-01T11:10:00Z | logs |")
    assert rows[1].startswith("| 10.0.5.17 | shared: NAT gateway nat-0abc | TLS | etl |")
    assert "Managed hosts never seen: idle-1." in text
    assert "Managed hosts without a known IP address: noaddr-1." in text


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_html_has_the_section_after_the_summary_escaped():
    page = report_html(report_with_coverage())
    parsed = _Collect()
    parsed.feed(page)
    assert ("section", {"id": "unmanaged"}) in parsed.tags
    assert "<b>bi</b>" not in page and "&lt;b&gt;bi&lt;/b&gt;" in page  # the application name is text, not markup
    assert page.index('id="summary"') < page.index('id="unmanaged"') < page.index('id="databases"')
    text = "".join(parsed.text)
    assert "Clients nobody manages (1)" in text and "<b>bi</b>" in text and "shared: NAT gateway nat-0abc" in text
    assert "TLS clients nobody manages" in text  # the summary card


def test_closing_lines_count_the_unmanaged_clients():
    lines = report_lines(report_with_coverage(), "/tmp/r")
    assert "TLS clients nobody manages: 1 (10.0.7.7); managed hosts never seen: idle-1" in lines


def test_a_run_that_did_not_compare_clients_has_no_section():
    report = run_report(audit_input(3))
    assert report["client_coverage"] is None and report["summary"]["unmanaged_tls_clients"] is None
    assert "Clients nobody manages" not in report_markdown(report)
    assert "Clients nobody manages" not in report_html(report) and 'id="unmanaged"' not in report_html(report)
    assert not any("nobody manages" in line for line in report_lines(report, "/tmp/r"))


def test_the_filter_documentation_parses_and_documents_its_options():
    import yaml  # pylint: disable=import-outside-toplevel

    from ansible_collections.rdsca.rotation.plugins.filter import client_coverage_findings as plugin  # pylint: disable=import-outside-toplevel

    doc = yaml.safe_load(plugin.DOCUMENTATION)
    assert doc["name"] == "client_coverage_findings" and set(doc["options"]) == {"_input", "stop_on_unmanaged"}
    assert yaml.safe_load(plugin.EXAMPLES) and yaml.safe_load(plugin.RETURN)["_value"]["type"] == "dict"


# -- the log evidence next to each verdict (issue 18: "the evidence window and its completeness are shown next to each
# verdict") -----------------------------------------------------------------------------------------------------------

def _usage_with_logs(kind):
    """An audit (or rotate) input whose first database's verdicts come from connection logs read by the collection's
    own reader (pg_connection_log.gather_evidence over RDS-shaped answers), and whose second database's logs are
    incomplete (log_connections off)."""
    from ansible_collections.rdsca.rotation.tests.unit.plugins.module_utils import test_pg_connection_log as t  # pylint: disable=import-outside-toplevel

    data = audit_input(6) if kind == "audit" else rotate_input(6)
    files = {"error/postgresql.log.2026-12-01-09": ["2026-12-01 09:31:00 UTC::@:[1]:LOG:  ready\n"],
             "error/postgresql.log.2026-12-01-10": t.PG16.splitlines(keepends=True)}
    complete = t.pcl.gather_evidence(t.AWS, t.FakeAccount(files), t.TARGET, t.LOGGED, 1.0, t.NOW, ["rdsadmin"])
    # log_connections off: the files hold no connection line.
    quiet = dict((name, [line for line in lines if "connection " not in line]) for name, lines in files.items())
    off = t.pcl.gather_evidence(t.AWS, t.FakeAccount(quiet), t.TARGET, dict(t.LOGGED, log_connections=None, group="quiet"),
                                1, t.NOW, ["rdsadmin"])
    usage = data["usage"]["databases"]
    for item, evidence in ((usage[1], complete), (usage[2], off)):
        item.update(ssl_in_use="unknown", ssl_in_use_reason="no credentials", usage={"samples": 0})
        ssl_usage.apply_log_evidence(item, evidence)
    labels = ["%s/%s" % (usage[i]["region"], usage[i]["identifier"]) for i in (1, 2)]
    return data, labels


@pytest.mark.parametrize("kind", ["audit", "rotate"])
def test_each_row_shows_its_log_window_and_completeness_next_to_the_verdicts(kind):
    data, (logged, quiet) = _usage_with_logs(kind)
    report = run_report(data)
    rows = {row["label"]: row for row in report["databases"]}
    logs = rows[logged]["ssl"]["logs"]
    # The module takes days as a float: 1.0 is shown as 1 day.
    assert rows[logged]["ssl"]["in_use"] == "yes" and logs["complete"] is True and repr(logs["window_days"]) == "1"
    assert (logs["from"], logs["to"]) == ("2026-12-01T09:00:00Z", "2026-12-01T11:00:00Z") and logs["tls_clients"] == 1
    assert rows[quiet]["ssl"]["in_use"] == "unknown" and rows[quiet]["ssl"]["logs"]["complete"] is False
    assert "log_connections is off in parameter group quiet" in rows[quiet]["ssl"]["logs"]["reason"]
    others = [row for label, row in rows.items() if label not in (logged, quiet)]
    assert others and all(row["ssl"]["logs"] is None for row in others)  # logs not read: nothing claimed
    # The logs cover the window from the instance's first log file (it was created within the window).
    window = "logs, 1 day(s) (2026-12-01T09:00:00Z to 2026-12-01T11:00:00Z)"
    md = {line.split(" | ")[0][2:].split(" (")[0]: line for line in report_markdown(report).splitlines() if line.startswith("| ")}
    assert window + ": complete, 1 TLS client(s), 1 plaintext" in md[logged]
    assert window + ": INCOMPLETE (log_connections is off in parameter group quiet" in md[quiet]
    assert "0 TLS client(s), 0 plaintext" in md[quiet]
    assert "logs, " not in "".join(md[row["label"]] for row in others)
    page = report_html(report)
    parsed = _Collect()
    parsed.feed(page)
    text = "".join(parsed.text)
    assert window + ": complete, 1 TLS client(s), 1 plaintext" in text
    assert window + ": INCOMPLETE (log_connections is off in parameter group quiet" in text


def test_log_window_text_says_unavailable_and_nothing_when_not_read():
    assert coverage_report.log_window(None) is None and coverage_report.log_window_text(None) == ""
    gone = coverage_report.log_window({"available": False, "reason": "log evidence is not available for oracle"})
    assert coverage_report.log_window_text(gone) == "logs unavailable: log evidence is not available for oracle"
    assert gone["complete"] is False
