# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: report_html
short_description: A run report as one self-contained HTML page
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - Renders a report of P(rdsca.rotation.run_report#filter) as an HTML page with inline CSS, inline SVG charts
    (days left until each database's CA expires, CA per region, the rotation's timeline) and a few lines of inline
    JavaScript that filter the databases; it loads nothing from elsewhere and opens offline.
  - The page leads with the summary (counts by account, region, engine, environment, CA and restart behaviour; what
    restarts and when; what is held back and why), then the charts, then the databases grouped by status in
    collapsible sections, naturally sorted. Long messages show their count and first few entries and say where the
    full list is (the JSON report). Every value is HTML-escaped.
positional: _input
options:
  _input:
    description: The report (P(rdsca.rotation.run_report#filter)).
    type: dict
    required: true
"""

EXAMPLES = r"""
---
- name: Write the HTML report
  ansible.builtin.copy:
    content: "{{ report | rdsca.rotation.report_html }}"
    dest: /var/tmp/report.html
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The HTML page.
  type: str
"""

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def report_html(report):
    """The report as a self-contained HTML page."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.report_render import render_html
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.report_render import check_report
    check_report(report, "report_html")
    return render_html(report)


class FilterModule:
    def filters(self):
        return {"report_html": report_html}
