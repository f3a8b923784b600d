# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: report_markdown
short_description: A run report as Markdown
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - Renders a report of P(rdsca.rotation.run_report#filter) as Markdown - the summary a change board reads first,
    the staging gate, the databases grouped by status (naturally sorted), clients, regions, steps, failures and
    warnings (long ones shortened to their count and first entries). Table cells escape C(|) and HTML.
positional: _input
options:
  _input:
    description: The report (P(rdsca.rotation.run_report#filter)).
    type: dict
    required: true
"""

EXAMPLES = r"""
---
- name: Write the Markdown report
  ansible.builtin.copy:
    content: "{{ report | rdsca.rotation.report_markdown }}"
    dest: /var/tmp/report.md
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The Markdown text.
  type: str
"""

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def report_markdown(report):
    """The report as Markdown."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.report_render import render_markdown
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.report_render import check_report
    check_report(report, "report_markdown")
    return render_markdown(report)


class FilterModule:
    def filters(self):
        return {"report_markdown": report_markdown}
