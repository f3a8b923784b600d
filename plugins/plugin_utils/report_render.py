# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The run report (plugin_utils.report.build_report) for people: HTML, Markdown and the run's closing lines.

The HTML page is self-contained (inline CSS, inline SVG charts, a few lines of inline JavaScript for the
filters; no external asset) and opens offline. It leads with what a change advisory board asks - counts by
account, region, engine, environment, CA and restart behaviour, what restarts and when, what is held back and
why - then the charts, then the detail grouped by status (collapsible, naturally sorted, filterable).
Every value from the estate (names, tags, reasons) is escaped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from ansible.errors import AnsibleFilterError

from ansible_collections.rdsca.rotation.plugins.plugin_utils.proxy_trust import trust_notes
from ansible_collections.rdsca.rotation.plugins.plugin_utils import coverage_report
from ansible_collections.rdsca.rotation.plugins.plugin_utils.report import natural_key
from ansible_collections.rdsca.rotation.plugins.plugin_utils.report import status_rank
# esc, cell, first_few: one definition, shared with coverage_report.
from ansible_collections.rdsca.rotation.plugins.plugin_utils.report_text import FIRST_FEW, cell, esc, first_few

GOOD = ("rotated", "restored", "unchanged", "ok", "verified", "completed", "fixed", "planned", "passed")
WARN = ("scheduled", "skipped", "not_started", "verified_only", "out_of_scope", "needs_rotation", "not_verifiable",
        "would_fix", "completed_with_failures", "missing", "not_checked")
BAD = ("failed", "rolled_back", "blocked", "unverified", "not_possible", "error", "FAIL", "stopped")
LONG_TEXT = 400
WOULD_BE = ("rotated", "restored", "scheduled", "skipped", "failed")
BREAKDOWN = (("account", "by_account"), ("region", "by_region"), ("engine", "by_engine"),
             ("environment", "by_environment"), ("CA", "by_ca"), ("restart", "by_restart"), ("status", "by_status"))
CHIPS = 14
PALETTE = ("#3b6fb6", "#d9822b", "#2e9e5b", "#b04a9e", "#8c6d31", "#5aa6c9", "#c44e52", "#7f7f7f")


def check_report(report: Any, name: str, keys: tuple[str, ...] = ("databases", "summary")) -> dict[str, Any]:
    """``report`` when it is what rdsca.rotation.run_report makes; otherwise the filter ``name`` fails saying so."""
    if not isinstance(report, dict) or any(key not in report for key in keys):
        raise AnsibleFilterError("rdsca.rotation.%s needs a report made by rdsca.rotation.run_report" % name)
    return report


def words(value: Any) -> str:
    return str(value).replace("_", " ")


def badge(value: Any, label: Any = None) -> str:
    cls = "ok" if value in GOOD else "warn" if value in WARN else "bad" if value in BAD else "plain"
    return '<span class="b %s">%s</span>' % (cls, esc(words(label if label is not None else value)))


def summarize_text(text: Any, where: str) -> str:
    """A long message shortened: a trailing ': a, b, c, ...' list to its count and first few, else cut."""
    text = str(text)
    if len(text) <= LONG_TEXT:
        return text
    head, sep, tail = text.partition(": ")
    while sep:
        items = tail.split(", ")
        if len(items) > FIRST_FEW and all(len(item) < 200 for item in items):
            return "%s: %s" % (head, first_few(items, "%d in all; full list: %s" % (len(items), where)))
        more_head, sep, tail = tail.partition(": ")
        head = head + ": " + more_head
    return text[:LONG_TEXT] + "... (%d characters; full text: %s)" % (len(text), where)


def would(report: dict[str, Any], row: dict[str, Any]) -> str:
    return "would be " if row.get("planned") and row["status"] in WOULD_BE else ""


# -- charts (inline SVG) ----------------------------------------------------------------------------------------------

DAY_BINS = ((None, 0, "expired"), (0, 30, "<30d"), (30, 90, "30-90d"), (90, 180, "3-6m"), (180, 365, "6-12m"),
            (365, 730, "1-2y"), (730, 1826, "2-5y"), (1826, 3652, "5-10y"), (3652, None, "10y+"))


def days_histogram(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Databases per band of days left until their CA expires (rds_ca_facts ca_days_left)."""
    out = dict((band[2], 0) for band in DAY_BINS)
    out["n/a"] = 0
    for row in rows:
        days = row["before"].get("ca_days_left")
        if not isinstance(days, (int, float)) or isinstance(days, bool):
            out["n/a"] += 1
            continue
        for low, high, label in DAY_BINS:
            if (low is None or days >= low) and (high is None or days < high):
                out[label] += 1
                break
    return out


def svg_bars(title: str, data: dict[str, int], colour: Callable[[str], str], width: int = 415) -> str:
    """A vertical bar chart: one bar per key, its count above it."""
    keys = list(data)
    height, top, bottom = 200, 36, 36
    peak = max(list(data.values()) + [1])
    slot = (width - 20) / max(len(keys), 1)
    parts = ['<svg class="chart" role="img" width="%d" height="%d" viewBox="0 0 %d %d">' % (width, height, width, height),
             '<title>%s</title>' % esc(title), '<text x="10" y="16" class="ct">%s</text>' % esc(title)]
    for i, key in enumerate(keys):
        value = data[key]
        tall = (height - top - bottom) * value / peak
        x = 10 + i * slot
        y = height - bottom - tall
        parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d</title></rect>'
                     % (x + 3, y, slot - 6, tall, colour(key), esc(key), value))
        parts.append('<text x="%.1f" y="%.1f" class="cv">%d</text>' % (x + slot / 2, y - 3, value))
        parts.append('<text x="%.1f" y="%d" class="cl">%s</text>' % (x + slot / 2, height - bottom + 14, esc(key)))
    parts.append('<text x="10" y="%d" class="cs">databases per band of days left until the CA expires</text>' % (height - 6))
    parts.append("</svg>")
    return "".join(parts)


def days_colour(key: str) -> str:
    return {"expired": "#c0392b", "<30d": "#e67e22", "30-90d": "#f1c40f", "n/a": "#aab"}.get(key, "#2e9e5b")


def svg_stacked(title: str, stacks: dict[str, dict[str, int]], width: int = 415) -> str:
    """Horizontal stacked bars: one bar per key (a region), one colour per part (a CA), with a legend."""
    parts_all = sorted(set(p for stack in stacks.values() for p in stack), key=natural_key)
    colours = dict((name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(parts_all))
    label_w, row_h, top = 110, 18, 26
    legend_h = 16 * ((len(parts_all) + 1) // 2)
    height = top + row_h * len(stacks) + legend_h + 12
    peak = max([sum(s.values()) for s in stacks.values()] + [1])
    out = ['<svg class="chart" role="img" width="%d" height="%d" viewBox="0 0 %d %d">' % (width, height, width, height),
           '<title>%s</title>' % esc(title), '<text x="10" y="16" class="ct">%s</text>' % esc(title)]
    for i, (key, stack) in enumerate(sorted(stacks.items(), key=lambda item: natural_key(item[0]))):
        y = top + i * row_h
        out.append('<text x="%d" y="%d" class="cy">%s</text>' % (label_w - 6, y + 12, esc(key)))
        x = float(label_w)
        for name in parts_all:
            value = stack.get(name, 0)
            if value:
                w = (width - label_w - 50) * value / peak
                out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s %s: %d</title></rect>'
                           % (x, y + 2, w, row_h - 4, colours[name], esc(key), esc(name), value))
                x += w
        out.append('<text x="%.1f" y="%d" class="cn">%d</text>' % (x + 4, y + 12, sum(stack.values())))
    y = top + row_h * len(stacks) + 10
    for i, name in enumerate(parts_all):
        lx, ly = 10 + (i % 2) * (width // 2), y + (i // 2) * 16
        out.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"></rect><text x="%d" y="%d" class="cg">%s</text>'
                   % (lx, ly, colours[name], lx + 14, ly + 9, esc(name)))
    out.append("</svg>")
    return "".join(out)


def _epoch(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def timeline_lanes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rotation per phase and batch: databases, restarts, first start and last finish (None when unknown)."""
    lanes: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        if row["status"] in ("out_of_scope",) or row["phase"] not in ("staging", "production", "rollback"):
            continue
        key = (row["phase"], row.get("batch") or 0)
        lane = lanes.setdefault(key, {"phase": row["phase"], "batch": row.get("batch"), "databases": 0, "restarts": 0,
                                      "start": None, "end": None, "statuses": {}})
        lane["databases"] += 1
        lane["restarts"] += 1 if row["restart"]["restarted"] else 0
        lane["statuses"][row["status"]] = lane["statuses"].get(row["status"], 0) + 1
        start, end = _epoch(row["timing"].get("started_at")), _epoch(row["timing"].get("finished_at"))
        if start is not None:
            lane["start"] = start if lane["start"] is None else min(lane["start"], start)
        if end is not None:
            lane["end"] = end if lane["end"] is None else max(lane["end"], end)
    order = {"staging": 0, "rollback": 1, "production": 2}
    return [lanes[k] for k in sorted(lanes, key=lambda k: (order.get(k[0], 3), k[1]))]


def svg_timeline(lanes: list[dict[str, Any]], width: int = 415) -> str:
    """The rotation as a timeline: one lane per phase and batch, from its first start to its last finish."""
    timed = [lane for lane in lanes if lane["start"] is not None and lane["end"] is not None]
    label_w, row_h, top = 120, 18, 26
    height = top + row_h * max(len(lanes), 1) + 26
    title = "Rotation timeline" if timed else "Rotation order (no times: planned, or not started)"
    out = ['<svg class="chart" role="img" width="%d" height="%d" viewBox="0 0 %d %d">' % (width, height, width, height),
           '<title>%s</title>' % esc(title), '<text x="10" y="16" class="ct">%s</text>' % esc(title)]
    t0 = min([lane["start"] for lane in timed] or [0])
    span = max([lane["end"] - t0 for lane in timed] + [1])
    usable = width - label_w - 60
    for i, lane in enumerate(lanes):
        y = top + i * row_h
        name = lane["phase"] + (" batch %s" % lane["batch"] if lane["batch"] else "")
        out.append('<text x="%d" y="%d" class="cy">%s</text>' % (label_w - 6, y + 12, esc(name)))
        if timed:
            if lane["start"] is None or lane["end"] is None:
                x, w = label_w, 2
            else:
                x, w = label_w + usable * (lane["start"] - t0) / span, max(usable * (lane["end"] - lane["start"]) / span, 2)
        else:
            x, w = label_w + usable * i / max(len(lanes), 1), usable / max(len(lanes), 1) - 2
        bad = any(s in BAD for s in lane["statuses"])
        tip = "%s: %d database(s), %d restart(s); %s" % (name, lane["databases"], lane["restarts"],
                                                         ", ".join("%s %d" % (words(k), v) for k, v in sorted(lane["statuses"].items())))
        out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>'
                   % (x, y + 2, w, row_h - 4, "#c0392b" if bad else "#3b6fb6", esc(tip)))
        out.append('<text x="%.1f" y="%d" class="cn">%d%s</text>'
                   % (x + w + 4, y + 12, lane["databases"], " (%d restart)" % lane["restarts"] if lane["restarts"] else ""))
    caption = ("0 to %d s after the first change" % span) if timed else "lanes in the order they run"
    out.append('<text x="%d" y="%d" class="cs">%s</text>' % (label_w, height - 8, esc(caption)))
    out.append("</svg>")
    return "".join(out)


def charts(report: dict[str, Any]) -> str:
    rows = report["databases"]
    by_region: dict[str, dict[str, int]] = {}
    for row in rows:
        stack = by_region.setdefault(row["region"] or "-", {})
        ca = row["before"]["ca"] or "-"
        stack[ca] = stack.get(ca, 0) + 1
    out = [svg_bars("Days left until the CA expires", days_histogram(rows), days_colour),
           svg_stacked("CA per region" + (" (before the run)" if report["kind"] != "audit" else ""), by_region)]
    if report["kind"] != "audit":
        out.append(svg_timeline(timeline_lanes(rows)))
    return '<section id="charts" class="charts">%s</section>' % "".join(out)


# -- the HTML page --------------------------------------------------------------------------------------------------------

CSS = """
body{font:14px/1.4 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:16px 20px;color:#1d2430;background:#fff}
h1{font-size:20px;margin:0 0 2px}h2{font-size:16px;margin:22px 0 6px;border-bottom:1px solid #d8dee8;padding-bottom:3px}
h3{font-size:14px;margin:0 0 4px}.meta{color:#556;margin-bottom:8px;font-size:13px}
.stop{background:#fff4e5;border-left:4px solid #e08a00;padding:6px 10px;margin:8px 0}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}.card{border:1px solid #d8dee8;border-radius:6px;padding:4px 10px;min-width:120px}
.card .n{font-size:20px;font-weight:600}.card .t{color:#556;font-size:12px}.card.bad{border-color:#e5a0a0;background:#fff6f6}
table{border-collapse:collapse;width:100%;margin:4px 0 10px}th,td{border:1px solid #d8dee8;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f5f9;font-weight:600}code{font:12px/1.3 Menlo,Consolas,monospace}
.small,.s{font-size:12px;color:#556}.b{display:inline-block;border-radius:10px;padding:0 7px;font-size:12px;white-space:nowrap}
.b.ok{background:#e3f6e8;color:#17692f}.b.warn{background:#fff1d6;color:#8a5a00}.b.bad{background:#fde4e4;color:#a01818;font-weight:600}
.b.plain{background:#eef1f6;color:#334}table.bd td,table.bd th{border:0;padding:1px 6px 1px 0}table.bd th{background:none;width:90px;color:#556}
.chip{display:inline-block;background:#eef1f6;border-radius:4px;padding:0 6px;margin:1px 3px 1px 0;font-size:12px;white-space:nowrap}
.chip b{font-weight:600}.cols{display:flex;gap:16px;flex-wrap:wrap}.cols>div{flex:1 1 420px;min-width:0}
.box{border:1px solid #d8dee8;border-radius:6px;padding:6px 10px;font-size:13px}.box ul{margin:2px 0;padding-left:18px}
tr.badrow td,tr.badrow th{color:#a12;font-weight:bold}
.charts{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0}.chart{border:1px solid #d8dee8;border-radius:6px;background:#fcfdfe}
.ct{font-size:13px;font-weight:600;fill:#1d2430}.cv,.cl{font-size:11px;text-anchor:middle;fill:#334}.cs,.cg{font-size:11px;fill:#556}
.cy{font-size:11px;text-anchor:end;fill:#334}.cn{font-size:11px;fill:#334}
details.grp{margin:6px 0;border:1px solid #d8dee8;border-radius:6px;padding:2px 8px}details.grp>summary{cursor:pointer;padding:4px 0;font-weight:600}
table.db{table-layout:fixed}table.db td{overflow-wrap:anywhere}
.filters{position:sticky;top:0;background:#fff;padding:6px 0;z-index:1;font-size:13px}.filters input{width:260px}
"""

SCRIPT = """
(function(){var q=document.getElementById('fq'),s=document.getElementById('fs'),g=document.getElementById('fr'),n=document.getElementById('fn');
if(!q)return;function run(){var t=q.value.toLowerCase(),st=s.value,rg=g.value,c=0,any=t||st||rg;
document.querySelectorAll('tr[data-s]').forEach(function(r){
var ok=(!st||r.getAttribute('data-s')==st)&&(!rg||r.getAttribute('data-r')==rg)&&(!t||r.textContent.toLowerCase().indexOf(t)>=0);
r.hidden=!ok;if(ok)c++;});
document.querySelectorAll('details.grp').forEach(function(d){var v=d.querySelectorAll('tr[data-s]:not([hidden])').length;
d.querySelector('.cnt').textContent=v;d.hidden=v==0;if(any)d.open=v>0&&v<=300;});
n.textContent=c;}
[q,s,g].forEach(function(x){x.addEventListener('input',run);});})();
"""


def chips(values: dict[str, int], limit: int = CHIPS) -> str:
    items = sorted(values.items(), key=lambda item: -item[1]) if len(values) > limit else list(values.items())
    shown = "".join('<span class="chip">%s <b>%d</b></span>' % (esc(words(k)), v) for k, v in items[:limit])
    return shown + (' <span class="s">and %d more</span>' % (len(items) - limit) if len(items) > limit else "")


def html_cards(report: dict[str, Any]) -> str:
    s, check = report["summary"], report["mode"] == "check"
    cards = [("%d / %d" % (s["in_scope"], s["databases"]), "databases in scope / found", False)]
    if report["kind"] == "audit":
        cards.append((s["needs_rotation"], "need rotation to %s" % report["target_ca"], False))
        cards.append((len(s["restarts"]), "would restart when rotated", bool(s["restarts"])))
    else:
        cards.append((s["on_target_after"], "on %s after%s" % (report["target_ca"], " (predicted)" if check else ""), False))
        cards.append((len(s["restarted"]), "would restart" if check else "restarted", bool(s["restarted"])))
        cards.append((len(s["restarts_avoided"]), "restarts avoided", False))
        cards.append((s["endpoints_verified"], "endpoints verified", False))
    held = sum(group["count"] for group in s["held_back"])
    cards.append((held, "held back (below: why)", bool(held)))
    cards.append(("%d / %d" % (len(s["clients_fixed"]), s["clients"]), "clients fixed / total", False))
    cards.append((s["failures"], "failures", bool(s["failures"])))
    if s.get("unmanaged_tls_clients") is not None:
        cards.append((s["unmanaged_tls_clients"], "TLS clients nobody manages", bool(s["unmanaged_tls_clients"])))
    if report["warnings"]:
        cards.append((len(report["warnings"]), "warnings (at the end)", False))
    return '<div class="cards">%s</div>' % "".join(
        '<div class="card%s"><div class="n">%s</div><div class="t">%s</div></div>' % (" bad" if bad else "", esc(n), esc(t))
        for n, t, bad in cards)


def html_breakdown(report: dict[str, Any]) -> str:
    s = report["summary"]
    rows = "".join("<tr><th>%s</th><td>%s</td></tr>" % (esc(name), chips(s.get(key) or {})) for name, key in BREAKDOWN)
    if s.get("by_ca_after"):
        rows += "<tr><th>CA after%s</th><td>%s</td></tr>" % (" (plan)" if report["mode"] == "check" else "", chips(s["by_ca_after"]))
    return '<table class="bd">%s</table>' % rows


def html_restarts(report: dict[str, Any]) -> str:
    restarts = report["summary"]["restarts"]
    title = "What restarts, and when" if report["kind"] != "audit" else "What would restart when rotated"
    if not restarts:
        return '<div class="box"><h3>%s</h3>Nothing.</div>' % title
    by_when: dict[str, list[str]] = {}
    for item in restarts:
        by_when.setdefault(item["when"], []).append(item["label"])
    lines = "".join("<li><b>%d</b> %s: %s</li>" % (len(labels), esc(when), esc(first_few(labels, "see the databases below")))
                    for when, labels in sorted(by_when.items(), key=lambda item: -len(item[1]))[:6])
    return '<div class="box"><h3>%s (%d)</h3><ul>%s</ul></div>' % (title, len(restarts), lines)


def html_held(report: dict[str, Any]) -> str:
    groups = report["summary"]["held_back"]
    if not groups:
        return '<div class="box"><h3>What is held back, and why</h3>Nothing.</div>'
    lines = "".join("<li>%s <b>%d</b>: %s<div class=\"s\">%s</div></li>"
                    % (badge(g["status"]), g["count"], esc(summarize_text(g["reason"], "the JSON report")),
                       esc(first_few(g["labels"], "see the databases below", 3)))
                    for g in groups[:6])
    more = '<div class="s">and %d more reasons (databases below)</div>' % (len(groups) - 6) if len(groups) > 6 else ""
    total = sum(g["count"] for g in groups)
    return '<div class="box"><h3>What is held back, and why (%d)</h3><ul>%s</ul>%s</div>' % (total, lines, more)


def shown_accounts(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-account summaries the report leads with: when the run covers several accounts or one could not be read."""
    accounts = report["summary"].get("accounts") or []
    return accounts if len(accounts) > 1 or any(a.get("status") != "inventoried" for a in accounts) else []


def account_name(account: dict[str, Any]) -> str:
    return "%s (%s)" % (account["account"], account["account_alias"]) if account.get("account_alias") else str(account["account"])


def account_totals(report: dict[str, Any], account: dict[str, Any]) -> str:
    """One account's totals in words; an account that could not be read says so, with the error."""
    if account.get("status") != "inventoried":
        return "%s: %s%s" % (words(account["status"]).upper(), ("%s: " % account["error_code"]) if account.get("error_code") else "",
                             account.get("message") or "its role could not be assumed")
    text = "%d databases, %d in scope, %d need rotation" % (account["databases"], account["in_scope"], account["needs_rotation"])
    if account.get("on_target_after") is not None:
        text += ", %d on %s after%s" % (account["on_target_after"], report["target_ca"], " (predicted)" if report["mode"] == "check" else "")
    return text + "; " + (", ".join("%s %d" % (words(k), v) for k, v in (account.get("by_status") or {}).items()) or "nothing")


def html_accounts(report: dict[str, Any]) -> str:
    accounts = shown_accounts(report)
    if not accounts:
        return ""
    rows = "".join('<tr%s><th>%s</th><td>%s</td></tr>' % (
        ' class="badrow"' if a.get("status") != "inventoried" else "", esc(account_name(a)), esc(account_totals(report, a)))
        for a in accounts)
    return '<div class="box" id="accounts"><h3>Accounts (%d)</h3><table class="bd">%s</table></div>' % (len(accounts), rows)


def html_summary(report: dict[str, Any]) -> str:
    return ('<section id="summary">%s%s%s<div class="cols"><div>%s</div><div>%s</div></div></section>'
            % (html_accounts(report), html_cards(report), html_breakdown(report), html_restarts(report), html_held(report)))


def html_gate(report: dict[str, Any]) -> str:
    gate = report.get("gate")
    if not gate:
        return ""
    approval = "" if gate.get("approval") == "none" else " and approved (%s)" % esc(gate.get("approval"))
    checks = "".join("<tr><td>%s</td><td>%s</td><td>%s</td></tr>"
                     % (esc(c.get("check")), badge("ok" if c.get("ok") else "FAIL"), esc(c.get("detail")))
                     for c in gate.get("checks") or [])
    return ('<h2>Staging gate %s</h2><p class="small">Production starts only when staging is verified%s.</p>'
            '<table><tr><th>check</th><th>result</th><th>evidence</th></tr>%s</table>'
            % (badge("passed" if gate.get("passed") else "failed"), approval, checks))


def _label_cell(report: dict[str, Any], row: dict[str, Any]) -> str:
    cluster = ('<div class="s">%s of %s</div>' % (esc(row["cluster_role"]), esc(row["cluster_id"]))) if row.get("cluster_id") else ""
    several = len(report["summary"].get("by_account") or {}) > 1
    account = '<div class="s">account %s</div>' % esc(account_name(row)) if several else ""
    return "<td><code>%s</code>%s%s</td>" % (esc(row["label"]), cluster, account)


def _ssl_cell(row: dict[str, Any], presented: bool) -> str:
    ssl = row["ssl"]
    notes = [esc(ssl["evidence"])] if ssl.get("evidence") else []
    if ssl.get("logs"):
        notes.append(esc(coverage_report.log_window_text(ssl["logs"])))
    if ssl.get("clients"):
        notes.append("clients: " + esc(first_few(ssl["clients"], "JSON report")))
    if presented and ssl.get("presented_ca"):
        notes.append("presented before: " + esc(ssl["presented_ca"]))
    return "<td>%s%s%s</td>" % (esc(ssl["in_use"]), ", enforced" if ssl.get("enforced") is True else "",
                                '<div class="s">%s</div>' % "<br>".join(notes) if notes else "")


def _days(row: dict[str, Any]) -> str:
    days = row["before"].get("ca_days_left")
    text = esc(row["before"].get("ca_valid_till") or "-")[:10]
    if row["before"].get("ca_expired"):
        return "%s %s" % (text, badge("failed", "expired"))
    return "%s<div class=\"s\">%s</div>" % (text, "%s days" % days if days is not None else "")


def audit_row(report: dict[str, Any], row: dict[str, Any]) -> str:
    b = row["before"]
    pending = " &rarr; %s (pending)" % esc(b["pending_ca"]) if b.get("pending_ca") else ""
    probe = row["ssl"]
    if probe.get("probe_verified") is False:
        ssl_probe = badge("failed", "does not verify")
    elif probe.get("probe_verified"):
        ssl_probe = badge("ok", "verifies")
    else:
        ssl_probe = ""
    return ('<tr data-s="%s" data-r="%s">%s<td>%s</td><td>%s %s</td><td>%s%s</td><td>%s</td><td>%s<div class="s">%s</div></td>'
            '<td>%s</td>%s<td>%s %s</td></tr>'
            % (esc(row["status"]), esc(row["region"]), _label_cell(report, row), esc(row["environment"]), esc(row["engine"]),
               esc(row["engine_version"]), esc(b["ca"]), pending, _days(row), badge(row["status"]), esc(b.get("reason")),
               esc(row["restart"]["text"]), _ssl_cell(row, False), esc(probe.get("presented_ca")), ssl_probe))


def run_row(report: dict[str, Any], row: dict[str, Any]) -> str:
    v, t = row["verification"], row["timing"]
    notes = [esc(v["detail"])] if v.get("detail") else []
    if v.get("clients_ok"):
        notes.append("clients ok: " + esc(first_few(v["clients_ok"], "JSON report")))
    if v.get("clients_failed"):
        notes.append("<strong>clients failed:</strong> " + esc("; ".join(v["clients_failed"])))
    if v.get("rollback"):
        notes.append("rollback: " + esc(v["rollback"]))
    env = '<div class="s">%s</div>' % esc(row["environment"]) if row.get("environment") and row["environment"] != row["phase"] else ""
    pending = '<div class="s">pending %s</div>' % esc(row["after"]["pending_ca"]) if row["after"].get("pending_ca") else ""
    timing = "-"
    if t.get("seconds") is not None:
        timing = "%s s<br>%s%s" % (esc(t["seconds"]), esc(str(t.get("started_at") or "")[11:19]),
                                   "<br>batch %s" % esc(row["batch"]) if row.get("batch") and row["phase"] == "production" else "")
    elif row.get("batch") and row["phase"] == "production":
        timing = "batch %s" % esc(row["batch"])
    return ('<tr data-s="%s" data-r="%s">%s<td>%s%s</td><td>%s %s</td><td>%s &rarr; <strong>%s</strong>%s</td>'
            '<td>%s<div class="s">%s</div></td><td>%s</td>%s<td>%s<div class="s">%s</div></td><td class="s">%s</td></tr>'
            % (esc(row["status"]), esc(row["region"]), _label_cell(report, row), esc(row["phase"]), env, esc(row["engine"]),
               esc(row["engine_version"]), esc(row["before"]["ca"]), esc(row["after"]["ca"]), pending,
               badge(row["status"], would(report, row) + row["status"]), esc(row["reason"] or row["error"] or ""),
               esc(row["restart"]["text"]), _ssl_cell(row, True), badge(v["endpoint"]), "<br>".join(notes), timing))


AUDIT_HEAD = (("database", 16), ("environment", 9), ("engine", 11), ("CA", 11), ("valid till", 8), ("needs rotation", 12),
              ("restart if rotated", 9), ("SSL/TLS usage", 13), ("endpoint presents", 11))
RUN_HEAD = (("database", 16), ("phase", 7), ("engine", 11), ("before &rarr; after", 14), ("status", 13), ("restart", 9),
            ("SSL/TLS usage", 12), ("verification", 11), ("timing", 7))


def status_groups(rows: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["status"], []).append(row)
    return [(status, sorted(groups[status], key=lambda r: natural_key(r["label"])))
            for status in sorted(groups, key=lambda s: (status_rank(s), s))]


def html_databases(report: dict[str, Any]) -> str:
    audit = report["kind"] == "audit"
    columns = AUDIT_HEAD if audit else RUN_HEAD
    head = "<colgroup>%s</colgroup><tr>%s</tr>" % ("".join('<col style="width:%d%%"/>' % col[1] for col in columns),
                                                   "".join("<th>%s</th>" % col[0] for col in columns))
    render = audit_row if audit else run_row
    rows = report["databases"]
    statuses = "".join('<option value="%s">%s</option>' % (esc(s), esc(words(s))) for s in dict(status_groups(rows)))
    regions = "".join('<option value="%s">%s</option>' % (esc(r), esc(r)) for r in report["summary"]["by_region"])
    out = ['<h2 id="databases">Databases</h2><div class="filters">Filter: <input id="fq" type="search" '
           'placeholder="name, engine, CA, reason..." aria-label="filter the databases"> <select id="fs" aria-label="status">'
           '<option value="">every status</option>%s</select> <select id="fr" aria-label="region"><option value="">every region'
           '</option>%s</select> <span class="s"><span id="fn">%d</span> shown</span></div>' % (statuses, regions, len(rows))]
    for status, group in status_groups(rows):
        is_open = status in BAD or status in ("needs_rotation", "scheduled", "not_started") or len(group) <= 50
        out.append('<details class="grp"%s><summary>%s <span class="cnt">%d</span></summary><table class="db">%s%s</table></details>'
                   % (" open" if is_open and len(group) <= 300 else "", badge(status, would(report, group[0]) + status),
                      len(group), head, "".join(render(report, row) for row in group)))
    if not rows:
        out.append("<p>No database.</p>")
    return "".join(out)


def html_clients(report: dict[str, Any]) -> str:
    if not report["clients"]:
        return '<h2>Clients</h2><p>No client host in <code>%s</code>.</p>' % esc((report.get("settings") or {}).get("clients"))
    rows = "".join(
        '<tr><td><code>%s</code>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class="s">%s</td><td class="s">%s</td></tr>'
        % (esc(c["host"]), "" if c.get("managed", True) else '<div class="s">trust not managed</div>', badge(c["status"]),
           esc(", ".join(c["lacked"]) or "nothing"), esc(", ".join(c["fixed"]) or "-"), esc(", ".join(c["missing"]) or "-"),
           esc(first_few(c["verified"], "JSON report") or "-"), esc("; ".join(c["verify_failed"] + c["errors"]) or "-"))
        for c in sorted(report["clients"], key=lambda c: natural_key(c["host"])))
    return ("<h2>Clients</h2><table><tr><th>client</th><th>status</th><th>lacked before</th><th>fixed</th><th>still missing</th>"
            "<th>verified</th><th>failures</th></tr>%s</table>" % rows)


def html_regions(report: dict[str, Any]) -> str:
    check = report["mode"] == "check"
    rows = []
    for g in report["regions"]:
        cell = esc(g["default_before"])
        if g.get("changed"):
            cell += " &rarr; <strong>%s</strong>%s" % (esc(g["default_after"]), " (planned)" if check else "")
        if g.get("error"):
            cell += " %s %s" % (badge("failed"), esc(g["error"]))
        if g.get("override_kept"):
            cell += " (deliberate override kept: drift from %s)" % esc(report["target_ca"])
        rows.append("<tr><td>%s</td><td>%s</td><td>%s</td></tr>" % (esc(g["region"]), esc(g["databases"]), cell))
    return ("<h2>Regions</h2><table><tr><th>region</th><th>databases</th><th>default CA for new launches</th></tr>%s</table>"
            % "".join(rows))


def html_steps(report: dict[str, Any]) -> str:
    rows = "".join('<tr><td>%s</td><td>%s</td><td class="s">%s</td><td>%s</td><td class="s">%s</td></tr>'
                   % (esc(s.get("name")), badge(s.get("status")), esc(s.get("started_at")), esc(s.get("seconds")),
                      esc(summarize_text(str(s.get("note") or "").strip(), "the JSON report's steps")))
                   for s in report["steps"])
    return ("<h2>Steps</h2><table><tr><th>step</th><th>status</th><th>started</th><th>seconds</th><th>note</th></tr>%s</table>"
            % rows)


def html_failures(report: dict[str, Any]) -> str:
    failures = report["failures"]
    if not failures:
        return "<h2>Failures</h2><p>None.</p>"
    rows = "".join("<tr><td>%s</td><td><code>%s</code></td><td>%s</td></tr>"
                   % (esc(f.get("what")), esc(f.get("label")), esc(summarize_text(f.get("reason"), "the JSON report's failures[%d]" % i)))
                   for i, f in enumerate(failures))
    table = "<table><tr><th>what</th><th>where</th><th>reason</th></tr>%s</table>" % rows
    if len(failures) > 20:
        table = "<details><summary>%d failures (show)</summary>%s</details>" % (len(failures), table)
    return "<h2>Failures (%d)</h2>%s" % (len(failures), table)


def html_warnings(report: dict[str, Any]) -> str:
    if not report["warnings"]:
        return ""
    items = "".join("<li>%s</li>" % esc(summarize_text(w, "the JSON report's warnings[%d]" % i))
                    for i, w in enumerate(report["warnings"]))
    return '<h2 id="warnings">Warnings (%d)</h2><ul>%s</ul>' % (len(report["warnings"]), items)


def render_html(report: dict[str, Any]) -> str:
    """The self-contained HTML page of a report."""
    check = report["mode"] == "check"
    stop = report.get("stop")
    meta = ("Run <code>%s</code>%s. %s to %s (%s s). Target CA <code>%s</code>, regions %s."
            % (esc(report["run_id"]), " in <strong>check mode</strong>: nothing was changed, statuses say what would happen"
               if check else "", esc(report["started_at"]), esc(report["finished_at"]), esc(report["duration_seconds"]),
               esc(report["target_ca"]), esc(", ".join(report["regions_queried"]) or "-")))
    if report["kind"] == "audit":
        meta += " An audit reads and changes nothing."
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        "<title>RDS CA %s report %s: %s</title>\n<style>%s</style>\n</head>\n<body>\n"
        % (esc(report["kind"]), esc(report["run_id"]), esc(words(report["outcome"])), CSS),
        "<h1>RDS CA %s report %s</h1>\n" % (esc(report["kind"]), badge(report["outcome"])),
        '<div class="meta">%s</div>\n' % meta,
        '<div class="stop"><strong>Stopped at %s:</strong> %s</div>\n' % (esc(stop.get("step")), esc(stop.get("reason"))) if stop else "",
        "".join('<div class="meta"><strong>Client trust:</strong> %s</div>\n' % esc(n) for n in trust_notes(report["databases"])),
        html_summary(report), "\n", coverage_report.html_section(report), "\n", charts(report), "\n", html_gate(report), "\n", html_databases(report), "\n",
        html_clients(report), "\n", html_regions(report), "\n", html_steps(report), "\n", html_failures(report), "\n",
        html_warnings(report),
        '\n<p class="small">Generated by the rdsca.rotation collection. The JSON report next to this page holds every field.</p>\n',
        "<script>%s</script>\n</body>\n</html>\n" % SCRIPT,
    ]
    return "".join(parts)


# -- Markdown ---------------------------------------------------------------------------------------------------------------

def md_counts(values: dict[str, int]) -> str:
    return ", ".join("%s %d" % (cell(words(k)), v) for k, v in values.items()) or "none"


def md_accounts(report: dict[str, Any]) -> list[str]:
    accounts = shown_accounts(report)
    if not accounts:
        return []
    lines = ["## Accounts", "", "| account | totals |", "|---|---|"]
    lines += ["| %s | %s |" % (cell(account_name(a)), ("**%s**" if a.get("status") != "inventoried" else "%s") % cell(account_totals(report, a)))
              for a in accounts]
    return lines + [""]


def md_summary(report: dict[str, Any]) -> list[str]:
    s, check = report["summary"], report["mode"] == "check"
    lines = ["## Summary", "", "- %d databases, %d in scope: %s" % (s["databases"], s["in_scope"], md_counts(s["by_status"]))]
    lines += ["- by %s: %s" % (name, md_counts(s.get(key) or {})) for name, key in BREAKDOWN if key != "by_status"]
    if report["kind"] == "audit":
        lines.append("- need rotation to `%s`: **%d**" % (cell(report["target_ca"]), s["needs_rotation"]))
    else:
        predicted = " (predicted)" if check else ""
        lines.append("- on `%s` after the run: **%d of %d**%s" % (cell(report["target_ca"]), s["on_target_after"], s["in_scope"], predicted))
        lines.append("- restarted: %s" % cell(first_few(s["restarted"], "see Databases") or "none"))
        lines.append("- restarts avoided: %s%s" % (cell(first_few(s["restarts_avoided"], "see Databases") or "none"),
                                                   " (scheduled for their maintenance window: %s)"
                                                   % cell(first_few(s["scheduled"], "see Databases")) if s["scheduled"] else ""))
        lines.append("- endpoints verified on the target CA: %d" % s["endpoints_verified"])
    lines.append("- clients: %d; lacking the target CA before: %s;" % (s["clients"], cell(", ".join(s["clients_lacking_before"]) or "none")))
    lines.append("  fixed: %s; still missing: %s"
                 % (cell(", ".join(s["clients_fixed"]) or "none"), cell(", ".join(s["clients_missing"]) or "none")))
    lines.append("- failures: %d" % s["failures"])
    lines += ["", "### What %s, and when" % ("would restart when rotated" if report["kind"] == "audit" else "restarts"), ""]
    by_when: dict[str, list[str]] = {}
    for item in s["restarts"]:
        by_when.setdefault(item["when"], []).append(item["label"])
    lines += ["- **%d** %s: %s" % (len(v), cell(k), cell(first_few(v, "see Databases"))) for k, v in by_when.items()] or ["Nothing."]
    lines += ["", "### What is held back, and why", ""]
    lines += ["- %s **%d**: %s (%s)" % (words(g["status"]), g["count"], cell(g["reason"]), cell(first_few(g["labels"], "see Databases", 3)))
              for g in s["held_back"]] or ["Nothing."]
    return lines


def md_gate(report: dict[str, Any]) -> list[str]:
    gate = report.get("gate")
    if not gate:
        return []
    approval = "" if gate.get("approval") == "none" else " and approved (%s)" % gate.get("approval")
    lines = ["", "## Staging gate: %s" % ("passed" if gate.get("passed") else "FAILED"), "",
             "Production starts only when staging is verified%s." % cell(approval), "", "| check | result | evidence |", "|---|---|---|"]
    lines += ["| %s | %s | %s |" % (cell(c.get("check")), "ok" if c.get("ok") else "**FAIL**", cell(c.get("detail")))
              for c in gate.get("checks") or []]
    return lines


def md_row(report: dict[str, Any], d: dict[str, Any]) -> str:
    label = cell(d["label"]) + (" (%s of %s)" % (cell(d["cluster_role"]), cell(d["cluster_id"])) if d.get("cluster_id") else "")
    ssl = d["ssl"]
    usage = cell(ssl["in_use"]) + (": " + cell(first_few(ssl["clients"], "JSON report")) if ssl.get("clients") else "")
    usage += "; " + cell(coverage_report.log_window_text(ssl["logs"])) if ssl.get("logs") else ""
    if report["kind"] == "audit":
        b = d["before"]
        presented = cell(ssl.get("presented_ca")) + {False: " (does not verify)", True: " (verifies)"}.get(ssl.get("probe_verified"), "")
        return "| %s | %s | %s %s | %s%s | %s%s | %s (%s) | %s | %s | %s | %s |" % (
            label, cell(d["environment"]), cell(d["engine"]), cell(d["engine_version"]), cell(b["ca"]),
            " → %s (pending)" % cell(b["pending_ca"]) if b.get("pending_ca") else "", cell(b.get("ca_valid_till")),
            " (expired)" if b.get("ca_expired") else "", "yes" if b.get("needs_rotation") else "no", cell(b.get("reason")),
            cell(d["restart"]["text"]), usage, cell(ssl.get("enforced")), presented)
    v = d["verification"]
    verification = words(v["endpoint"]) + ("; clients ok: %s" % cell(", ".join(v["clients_ok"])) if v.get("clients_ok") else "") \
        + ("; clients FAILED: %s" % cell(", ".join(v["clients_failed"])) if v.get("clients_failed") else "")
    env = " (%s)" % cell(d["environment"]) if d.get("environment") and d["environment"] != d["phase"] else ""
    return "| %s | %s%s | %s %s | %s → %s%s | **%s%s** | %s | %s%s | %s | %s%s | %s |" % (
        label, cell(d["phase"]), env, cell(d["engine"]), cell(d["engine_version"]), cell(d["before"]["ca"]), cell(d["after"]["ca"]),
        " (pending %s)" % cell(d["after"]["pending_ca"]) if d["after"].get("pending_ca") else "", would(report, d), words(d["status"]),
        cell(d["restart"]["text"]), usage, ", enforced" if ssl.get("enforced") is True else "", verification,
        cell(d["timing"].get("seconds")), " (batch %s)" % d["batch"] if d.get("batch") and d["phase"] == "production" else "",
        cell(d["reason"] or d["error"] or ""))


def md_databases(report: dict[str, Any]) -> list[str]:
    if report["kind"] == "audit":
        head = ["| database | environment | engine | CA | valid till | needs rotation | restart if rotated | SSL/TLS in use | "
                "enforced | endpoint presents |", "|---|---|---|---|---|---|---|---|---|---|"]
    else:
        head = ["| database | phase | engine | before → after | status | restart | SSL/TLS usage | verification | seconds | reason |",
                "|---|---|---|---|---|---|---|---|---|---|"]
    lines = ["", "## Databases"]
    for status, group in status_groups(report["databases"]):
        lines += ["", "### %s%s (%d)" % (would(report, group[0]), words(status), len(group)), ""] + head
        lines += [md_row(report, d) for d in group]
    return lines


def md_rest(report: dict[str, Any]) -> list[str]:
    lines = ["", "## Clients", ""]
    if report["clients"]:
        lines += ["| client | status | lacked before | fixed | still missing | verified | failures |", "|---|---|---|---|---|---|---|"]
        lines += ["| %s%s | %s | %s | %s | %s | %s | %s |" % (
            cell(c["host"]), "" if c.get("managed", True) else " (trust not managed)", words(c["status"]),
            cell(", ".join(c["lacked"]) or "nothing"), cell(", ".join(c["fixed"]) or "-"), cell(", ".join(c["missing"]) or "-"),
            cell(", ".join(c["verified"]) or "-"), cell("; ".join(c["verify_failed"] + c["errors"]) or "-")) for c in report["clients"]]
    else:
        lines.append("No client host in `%s`." % cell((report.get("settings") or {}).get("clients")))
    lines += ["", "## Regions", "", "| region | databases | default CA for new launches |", "|---|---|---|"]
    for g in report["regions"]:
        text = cell(g["default_before"])
        text += " → %s%s" % (cell(g["default_after"]), " (planned)" if report["mode"] == "check" else "") if g.get("changed") else ""
        text += " (**failed**: %s)" % cell(g["error"]) if g.get("error") else ""
        text += " (deliberate override kept: drift from %s)" % cell(report["target_ca"]) if g.get("override_kept") else ""
        lines.append("| %s | %s | %s |" % (cell(g["region"]), cell(g["databases"]), text))
    lines += ["", "## Steps", "", "| step | status | started | seconds | note |", "|---|---|---|---|---|"]
    lines += ["| %s | %s | %s | %s | %s |"
              % (cell(s.get("name")), cell(s.get("status")), cell(s.get("started_at")), cell(s.get("seconds")),
                 cell(summarize_text(str(s.get("note") or "").strip(), "the JSON report's steps")))
              for s in report["steps"]]
    lines += ["", "## Failures", ""]
    lines += ["- **%s** %s: %s"
              % (cell(f.get("what")), cell(f.get("label")), cell(summarize_text(f.get("reason"), "the JSON report's failures[%d]" % i)))
              for i, f in enumerate(report["failures"])] or ["None."]
    if report["warnings"]:
        lines += ["", "## Warnings", ""]
        lines += ["- %s" % cell(summarize_text(w, "the JSON report's warnings[%d]" % i)) for i, w in enumerate(report["warnings"])]
    return lines


def render_markdown(report: dict[str, Any]) -> str:
    """The Markdown report."""
    check = report["mode"] == "check"
    lines = ["# RDS CA %s report: %s" % (cell(report["kind"]), words(report["outcome"])), "",
             "Run `%s`%s," % (cell(report["run_id"]), " in **check mode** (nothing was changed; statuses say what would happen)"
                              if check else ""),
             "%s to %s (%s s), target CA `%s`,"
             % (cell(report["started_at"]), cell(report["finished_at"]), cell(report["duration_seconds"]), cell(report["target_ca"])),
             "regions %s.%s"
             % (cell(", ".join(report["regions_queried"]) or "-"), " An audit reads and changes nothing." if report["kind"] == "audit" else "")]
    if report.get("stop"):
        lines += ["", "**Stopped at %s:** %s" % (cell(report["stop"].get("step")), cell(report["stop"].get("reason")))]
    lines += [item for note in trust_notes(report["databases"]) for item in ("", "**Client trust:** " + cell(note))]
    lines += [""] + md_accounts(report) + md_summary(report) + coverage_report.md_section(report) + md_gate(report) + md_databases(report) + md_rest(report)
    return "\n".join(lines) + "\n"


# -- the run's closing lines ------------------------------------------------------------------------------------------------

def summary_lines(report: dict[str, Any], base: str) -> list[str]:
    """What the playbook prints at its end: outcome, counts, restarts, gate, clients, failures, where the report is."""
    s = report["summary"]
    lines = ["%s %s%s in %ss, target %s" % (report["kind"].upper(), report["outcome"].upper(),
                                            " (check mode: nothing was changed)" if report["mode"] == "check" else "",
                                            report["duration_seconds"], report["target_ca"]),
             "%d databases, %d in scope: %s" % (s["databases"], s["in_scope"], ", ".join("%s %d" % kv for kv in s["by_status"].items())),
             *["account %s: %s" % (account_name(a), account_totals(report, a)) for a in shown_accounts(report)],
             "by region: %s; by engine: %s" % (", ".join("%s %d" % kv for kv in s["by_region"].items()),
                                               ", ".join("%s %d" % kv for kv in s["by_engine"].items()))]
    if report["kind"] != "audit":
        lines.append("on %s after the run: %d of %d; restarted: %s; restarts avoided: %s"
                     % (report["target_ca"], s["on_target_after"], s["in_scope"], first_few(s["restarted"], "see the report") or "none",
                        first_few(s["restarts_avoided"], "see the report") or "none"))
    gate = report.get("gate")
    if gate:
        lines.append("staging gate: %s - %s" % ("passed" if gate.get("passed") else "FAILED", "; ".join(
            "%s: %s" % (c.get("check"), "ok" if c.get("ok") else "FAIL") for c in gate.get("checks") or [])))
    lines.append("clients: %d, lacking the target CA before: %s, fixed: %s, still missing: %s"
                 % (s["clients"], ", ".join(s["clients_lacking_before"]) or "none", ", ".join(s["clients_fixed"]) or "none",
                    ", ".join(s["clients_missing"]) or "none"))
    lines += coverage_report.closing_line(report)
    if report.get("stop"):
        lines.append("stopped at %s: %s" % (report["stop"].get("step"), report["stop"].get("reason")))
    lines.extend("client trust: %s" % note for note in trust_notes(report["databases"]))
    failures = report["failures"]
    lines += ["FAILURE %s %s: %s" % (f.get("what"), f.get("label"), summarize_text(f.get("reason"), "the JSON report"))
              for f in failures[:20]]
    if len(failures) > 20:
        lines.append("... and %d more failures (the JSON report lists them all)" % (len(failures) - 20))
    lines.append("report: %s.html (also .md, .json)" % base)
    return lines
