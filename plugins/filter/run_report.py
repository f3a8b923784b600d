# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: run_report
short_description: The report of an audit, rotate or rollback run, from what its steps registered
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - Builds the report the C(rdsca.rotation.audit), C(rotate) and C(rollback) playbooks write as JSON (and render with
    P(rdsca.rotation.report_html#filter) and P(rdsca.rotation.report_markdown#filter)) - one row per database (before
    and after, status and reason, restart, SSL/TLS usage, verification, timing), the clients, the regions, the failures,
    and a summary a change board reads first (counts by account, region, engine, environment, CA and restart
    behaviour; what restarts and when; what is held back and why).
  - It decides nothing about RDS - statuses, reasons and restarts are what C(rds_ca_facts) and C(rds_ca_rotate)
    returned. Rows are sorted naturally by C(region/identifier) (C(db-2) before C(db-10)).
positional: _input
options:
  _input:
    description:
      - A dict of what the run produced. C(kind) (C(audit), C(rotate), C(rollback)), C(check_mode), C(settings)
        (C(rdsca_cfg)), C(databases) (C(rds_ca_facts) databases with C(label), C(environment), C(phase)),
        C(facts_before) and C(facts_after) (registered C(rds_ca_facts)), C(usage) (registered C(rds_ssl_usage)),
        C(rotations) (per phase, C(rds_ca_rotate) C(databases) and C(errors), C(halted_after_batch)), C(probes),
        C(reachable), C(client_hosts), C(client_states), C(client_manage_trust), C(account_default),
        C(account_overrides), C(problems), C(warnings), C(gate), C(steps), C(stop). Missing keys mean "not run".
    type: dict
    required: true
"""

EXAMPLES = r"""
---
- name: Put the report together
  ansible.builtin.set_fact:
    report: "{{ run | rdsca.rotation.run_report }}"
  vars:
    run:
      kind: audit
      check_mode: "{{ ansible_check_mode }}"
      settings: "{{ rdsca_cfg }}"
      databases: "{{ rdsca_dbs }}"
      facts_before: "{{ rdsca_facts_before }}"
"""

RETURN = r"""
_value:
  description:
    - The report - C(kind), C(run_id), C(mode), C(outcome), C(summary), C(databases), C(clients), C(regions),
      C(failures), C(steps), C(warnings), C(gate), C(stop), C(settings) (docs/playbooks.md describes each field).
  type: dict
"""

from ansible.errors import AnsibleFilterError

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def run_report(data):
    """The run's report from what its steps registered."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.report import build_report
    if not isinstance(data, dict):
        raise AnsibleFilterError("rdsca.rotation.run_report needs a dict of what the run produced, not %s" % type(data).__name__)
    if not isinstance(data.get("databases") or [], list):
        raise AnsibleFilterError("rdsca.rotation.run_report: 'databases' must be a list")
    return build_report(data)


class FilterModule:
    def filters(self):
        return {"run_report": run_report}
