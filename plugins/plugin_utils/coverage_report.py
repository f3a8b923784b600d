# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The clients nobody manages (issue 18), for the pre-flight and the run report.

From a ``client_coverage`` result (plugin_utils.client_coverage.coverage):

- :func:`preflight_findings` decides what the pre-flight does with it: the problems that stop a rotation (unmanaged
  TLS clients, when ``rdsca_stop_on_unmanaged_tls_clients`` is true), the warnings the report lists, and the lines
  the pre-flight shows;
- :func:`report_section` is the report's ``client_coverage`` section (None when the run did not compare clients),
  :func:`summary_counts` its counts in the report's summary;
- :func:`html_section`, :func:`md_section` and :func:`closing_line` render it ("Clients nobody manages");
- :func:`log_window` and :func:`log_window_text`: a database's connection-log evidence (its window and whether it
  is complete), shown next to its verdicts in every report row.

Only the standard library: the filters run it on the controller.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from ansible_collections.rdsca.rotation.plugins.plugin_utils.report_text import cell, esc, first_few

STOP_OPTION = "rdsca_stop_on_unmanaged_tls_clients"
TITLE = "Clients nobody manages"
LIST_KEYS = ("unmanaged_tls_clients", "unmanaged_plaintext_clients", "managed_clients", "never_seen_hosts",
             "hosts_without_addresses", "shared_addresses")


def _few(items: list[str]) -> str:
    """report_text.first_few, pointing to the report for the rest."""
    return first_few(items, "see the report")


def _joined(values: Any) -> str:
    return ", ".join(str(v) for v in values or []) or "-"


def client_text(entry: Mapping[str, Any]) -> str:
    """One client in words: '10.0.7.7 (user report, application bi, on eu-west-1/orders-prod, from logs)'."""
    parts = []
    for key, word in (("users", "user"), ("applications", "application"), ("databases", "on")):
        if entry.get(key):
            parts.append("%s %s" % (word, _joined(entry[key])))
    if entry.get("sources"):
        parts.append("from " + " and ".join(str(s) for s in entry["sources"]))
    if "tls" in entry and entry["tls"] is None:
        parts.append("TLS not proven either way")
    return "%s (%s)" % (entry.get("address"), ", ".join(parts)) if parts else str(entry.get("address"))


def evidence_text(evidence: Mapping[str, Any]) -> str:
    """How far the evidence goes, in one sentence."""
    total = evidence.get("databases") or 0
    if not total:
        return "no database's clients were looked at"
    text = "%d database(s): sessions listed on %d, complete connection logs on %d" % (
        total, evidence.get("sessions") or 0, evidence.get("complete") or 0)
    without = list(evidence.get("without_evidence") or [])
    if without:
        text += "; no client evidence at all for %s" % _few(without)
    return text


def log_window(evidence: Any) -> Optional[dict[str, Any]]:
    """A database's connection-log evidence for its report row (rds_ssl_usage ``log_evidence``; None when the logs
    were not read): the source, the window (days, from, to), whether it is complete and why not, and the clients seen."""
    if not isinstance(evidence, Mapping):
        return None
    available = bool(evidence.get("available"))
    days = evidence.get("window_days")
    if isinstance(days, float) and days.is_integer():
        days = int(days)  # the module's float option: 1.0 reads as 1 day
    return {"source": evidence.get("source"), "window_days": days,
            "from": evidence.get("covered_from") or evidence.get("window_start"), "to": evidence.get("window_end"),
            "available": available, "complete": bool(available and evidence.get("complete")),
            "reason": None if available and evidence.get("complete") else evidence.get("reason"),
            "tls_clients": evidence.get("tls_clients") or 0, "plaintext_clients": evidence.get("plaintext_clients") or 0,
            "tls_unknown_clients": evidence.get("tls_unknown_clients") or 0}


def log_window_text(log: Optional[Mapping[str, Any]]) -> str:
    """A row's log evidence in words: 'logs, 1 day(s) (2026-12-01T10:00:00Z to 2026-12-02T10:00:00Z): complete, 2 TLS
    client(s), 1 plaintext'; 'logs incomplete: <why>'; 'logs unavailable: <why>'; '' when the logs were not read."""
    if not log:
        return ""
    if not log.get("available"):
        return "logs unavailable: %s" % (log.get("reason") or "unknown")
    window = "logs, %s day(s) (%s to %s)" % (log.get("window_days"), log.get("from") or "-", log.get("to") or "-")
    seen = "%d TLS client(s), %d plaintext" % (log.get("tls_clients") or 0, log.get("plaintext_clients") or 0)
    if log.get("tls_unknown_clients"):
        seen += ", %d TLS unknown" % log["tls_unknown_clients"]
    if log.get("complete"):
        return "%s: complete, %s" % (window, seen)
    return "%s: INCOMPLETE (%s), %s" % (window, log.get("reason") or "unknown", seen)


def _check(coverage: Any) -> dict[str, Any]:
    if not isinstance(coverage, Mapping) or any(not isinstance(coverage.get(key, []), list) for key in LIST_KEYS):
        raise ValueError("expected the result of rdsca.rotation.client_coverage, got %s" % type(coverage).__name__)
    return dict(coverage)


def preflight_findings(coverage: Any, stop_on_unmanaged: bool = False) -> dict[str, Any]:
    """What the pre-flight does with the clients nobody manages.

    ``problems`` stop a rotation before any change (only with ``stop_on_unmanaged``): TLS clients no managed host
    accounts for, or - since the stop was asked for and cannot be decided blind - no client evidence on any database.
    ``warnings`` go to the report either way; ``lines`` are what the pre-flight shows.
    """
    coverage = _check(coverage)
    unmanaged = list(coverage.get("unmanaged_tls_clients") or [])
    shared_tls = [s for s in coverage.get("shared_addresses") or [] if s.get("tls")]
    never = list(coverage.get("never_seen_hosts") or [])
    evidence = coverage.get("evidence") or {}
    problems: list[str] = []
    warnings: list[str] = []
    if unmanaged:
        text = ("%d TLS client(s) that no managed host accounts for, whose trust store nothing will update: %s"
                % (len(unmanaged), _few([client_text(c) for c in unmanaged])))
        if stop_on_unmanaged:
            problems.append(text + "; add their hosts to the client group (or their addresses as rdsca_client_addresses), "
                            "or set %s=false on purpose" % STOP_OPTION)
        else:
            warnings.append(text)
    if stop_on_unmanaged and evidence.get("databases") and len(evidence.get("without_evidence") or []) == evidence["databases"]:
        problems.append("%s is true but no database's clients could be seen (no sessions listed, no complete connection "
                        "logs): give rdsca_ssl_usage_login_user or rdsca_ssl_usage_log_window_days, or set %s=false"
                        % (STOP_OPTION, STOP_OPTION))
    for entry in shared_tls:
        warnings.append("TLS clients behind the shared address %s (%s, not a host): they cannot be told apart, check "
                        "the hosts behind it by hand" % (entry.get("address"), entry.get("shared_as")))
    lines = [
        "TLS clients nobody manages: %s" % (_few([client_text(c) for c in unmanaged]) if unmanaged else "none"),
        "managed hosts never seen: %s" % (_few(never) if never else "none"),
        "shared addresses (not hosts): %s" % (_few(["%s (%s)" % (s.get("address"), s.get("shared_as"))
                                                    for s in coverage.get("shared_addresses") or []]) or "none"),
        "client evidence: %s" % evidence_text(evidence),
    ]
    if coverage.get("hosts_without_addresses"):
        lines.append("managed hosts without a known IP address (set ansible_host to an IP, gather facts or set "
                     "rdsca_client_addresses): %s" % _few(list(coverage["hosts_without_addresses"])))
    return {"stop": bool(problems), "problems": problems, "warnings": warnings, "lines": lines}


# -- the report -------------------------------------------------------------------------------------------------------------

def report_section(coverage: Any, stop_on_unmanaged: Any = False) -> Optional[dict[str, Any]]:
    """The report's ``client_coverage``: what the run compared (None when it did not)."""
    if not coverage:
        return None
    coverage = _check(coverage)
    section = dict((key, list(coverage.get(key) or [])) for key in LIST_KEYS)
    section["evidence"] = dict(coverage.get("evidence") or {})
    section["evidence_text"] = evidence_text(section["evidence"])
    section["stop_on_unmanaged"] = str(stop_on_unmanaged).lower() in ("true", "yes", "on", "1")
    return section


def summary_counts(section: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    """The section's counts in the report's summary (None: not compared in this run)."""
    if not section:
        return {"unmanaged_tls_clients": None, "never_seen_hosts": None, "shared_addresses": None}
    return {"unmanaged_tls_clients": len(section["unmanaged_tls_clients"]), "never_seen_hosts": len(section["never_seen_hosts"]),
            "shared_addresses": len(section["shared_addresses"])}


def _rows(section: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(what, entry) for each unmanaged TLS client, then each shared address."""
    return [("unmanaged TLS client", c) for c in section["unmanaged_tls_clients"]] + \
        [("shared: %s" % s.get("shared_as"), s) for s in section["shared_addresses"]]


def _fields(entry: Mapping[str, Any]) -> list[str]:
    tls = {True: "TLS", False: "plaintext"}.get(entry.get("tls"), "TLS unknown")
    return [str(entry.get("address")), tls, _joined(entry.get("users")), _joined(entry.get("databases")),
            _joined(entry.get("applications")), str(entry.get("first_seen") or "-"), str(entry.get("last_seen") or "-"),
            _joined(entry.get("sources"))]


HEAD = ("address", "what", "transport", "user", "database", "application", "first seen", "last seen", "source")


def md_section(report: Mapping[str, Any]) -> list[str]:
    """The Markdown lines of the section (none when the run did not compare clients)."""
    section = report.get("client_coverage")
    if not section:
        return []
    unmanaged = section["unmanaged_tls_clients"]
    lines = ["", "## %s" % TITLE, "",
             "TLS clients no managed host accounts for: **%d** (nothing will update their trust store)%s."
             % (len(unmanaged), "; the rotation stops on them (%s)" % STOP_OPTION if section.get("stop_on_unmanaged") else ""),
             "Evidence: %s." % cell(section["evidence_text"])]
    rows = _rows(section)
    if rows:
        lines += ["", "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
        for what, entry in rows:
            fields = _fields(entry)
            lines.append("| " + " | ".join(cell(v) for v in [fields[0], what] + fields[1:]) + " |")
    lines += ["", "Managed hosts never seen: %s." % cell(", ".join(section["never_seen_hosts"]) or "none")]
    if section["hosts_without_addresses"]:
        lines.append("Managed hosts without a known IP address: %s." % cell(", ".join(section["hosts_without_addresses"])))
    if section["unmanaged_plaintext_clients"]:
        lines.append("Plaintext clients no managed host accounts for (a rotation does not break them): %s."
                     % cell(", ".join(c.get("address") for c in section["unmanaged_plaintext_clients"])))
    return lines


def html_section(report: Mapping[str, Any]) -> str:
    """The HTML of the section ('' when the run did not compare clients)."""
    section = report.get("client_coverage")
    if not section:
        return ""
    unmanaged = section["unmanaged_tls_clients"]
    out = ['<section id="unmanaged"><h2>%s (%d)</h2>' % (TITLE, len(unmanaged)),
           '<p class="small">TLS clients no managed host accounts for: nothing will update their trust store%s. '
           'Evidence: %s.</p>' % ("; the rotation stops on them (%s)" % STOP_OPTION if section.get("stop_on_unmanaged") else "",
                                  esc(section["evidence_text"]))]
    rows = _rows(section)
    if rows:
        out.append("<table><tr>%s</tr>" % "".join("<th>%s</th>" % esc(h) for h in HEAD))
        for what, entry in rows:
            fields = _fields(entry)
            cls = "bad" if what == "unmanaged TLS client" else "warn"
            out.append("<tr><td><code>%s</code></td><td><span class=\"b %s\">%s</span></td>%s</tr>"
                       % (esc(fields[0]), cls, esc(what), "".join("<td>%s</td>" % esc(v) for v in fields[1:])))
        out.append("</table>")
    else:
        out.append("<p>None seen.</p>")
    out.append("<p>Managed hosts never seen: %s.</p>" % esc(", ".join(section["never_seen_hosts"]) or "none"))
    if section["hosts_without_addresses"]:
        out.append("<p>Managed hosts without a known IP address: %s.</p>" % esc(", ".join(section["hosts_without_addresses"])))
    out.append("</section>")
    return "".join(out)


def closing_line(report: Mapping[str, Any]) -> list[str]:
    """The line the run prints at its end (none when the run did not compare clients)."""
    section = report.get("client_coverage")
    if not section:
        return []
    unmanaged = section["unmanaged_tls_clients"]
    return ["TLS clients nobody manages: %d%s; managed hosts never seen: %s"
            % (len(unmanaged), (" (" + _few([str(c.get("address")) for c in unmanaged]) + ")") if unmanaged else "",
               _few(section["never_seen_hosts"]) or "none")]
