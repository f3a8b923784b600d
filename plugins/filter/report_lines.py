# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: report_lines
short_description: The closing lines a run prints from its report
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - The lines the audit, rotate and rollback playbooks print at their end from a report of
    P(rdsca.rotation.run_report#filter) - outcome, counts by status, region and engine, restarts, the staging gate,
    clients, the first failures, and where the report files are. Long lists show their first entries.
positional: _input
options:
  _input:
    description: The report (P(rdsca.rotation.run_report#filter)).
    type: dict
    required: true
  base:
    description: The report files' path without extension (C(.html), C(.md), C(.json) are appended).
    type: str
    required: true
"""

EXAMPLES = r"""
---
- name: Summarise the run
  ansible.builtin.debug:
    msg: "{{ report | rdsca.rotation.report_lines('/var/tmp/audit-20261201T120000Z') }}"
"""

RETURN = r"""
_value:
  description: The lines.
  type: list
  elements: str
"""

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def report_lines(report, base):
    """The closing lines of a run."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.report_render import summary_lines
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.report_render import check_report
    check_report(report, "report_lines", ("summary",))
    return summary_lines(report, str(base))


class FilterModule:
    def filters(self):
        return {"report_lines": report_lines}
