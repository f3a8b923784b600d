# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: staging_gate
short_description: "The staging gate of the rotate playbook - production starts only when staging is verified"
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - "Checks, each with its evidence - the staging rotation of this run had no failure and no rollback; every staging
    database is on the target CA or scheduled for its maintenance window (or skipped, with its reason); every staging
    endpoint the controller reaches presents the target CA and verifies; every client verified the staging databases it
    uses (with C(client_verify)); at least one staging database was verified (with C(require_verified_staging))."
  - "In check mode nothing was rotated: each check is predicted from what discovery read (CAs, the endpoints' probes,
    the clients' audit) and what the staging rotation plans, so that the dry run stops where the real run would."
positional: _input, settings
options:
  _input:
    description:
      - "The databases in scope, with their phase."
    type: list
    elements: dict
    required: true
  settings:
    description:
      - "The resolved settings (C(rdsca_cfg))."
    type: dict
    required: true
  check_mode:
    description:
      - "A dry run: predict."
    type: bool
    default: false
  rotation:
    description:
      - "The staging phase's record (the C(rdsca.rotation.rotation_record) filter), when staging was rotated."
    type: dict
  databases_after:
    description:
      - "C(rdsca.rotation.rds_ca_facts) RV(databases) read after the staging phase."
    type: list
    elements: dict
  probes:
    description:
      - "The controller's probes of staging (the C(rdsca.rotation.endpoint_probes) filter)."
    type: list
    elements: dict
  reachable:
    description:
      - "Labels of the endpoints the controller reached with TLS at discovery (check mode)."
    type: list
    elements: str
  usage:
    description:
      - "C(rdsca.rotation.rds_ssl_usage) RV(databases) of discovery (check mode)."
    type: list
    elements: dict
  client_hosts:
    description:
      - "The client host names."
    type: list
    elements: str
  hostvars:
    description:
      - "C(hostvars), for each client's C(rdsca_client_state) and C(rdsca_client_databases)."
    type: dict
"""

EXAMPLES = r"""
---
- name: Evaluate the staging gate
  ansible.builtin.set_fact:
    gate: >-
      {{ rdsca_in_scope | rdsca.rotation.staging_gate(rdsca_cfg, check_mode=ansible_check_mode,
         rotation=rdsca_rotations.staging | default(none), probes=rdsca_probes.staging | default([]),
         client_hosts=rdsca_client_hosts, hostvars=hostvars) }}
"""

RETURN = r"""
_value:
  description:
    - "V(passed), V(checks) (C({check, ok, detail}) each), V(lines) (what to show) and V(reason) (why production does
      not start, or null)."
  type: dict
"""

from ansible.errors import AnsibleFilterError

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def staging_gate(in_scope, settings, check_mode=False, rotation=None, databases_after=None, probes=None, reachable=None,
                 usage=None, client_hosts=None, hostvars=None):
    """The staging gate's checks and verdict."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import rotate_playbook
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.rotate_playbook import check_list as _check_list
    _check_list(in_scope, "the databases in scope", "staging_gate")
    if not isinstance(settings, dict):
        raise AnsibleFilterError("rdsca.rotation.staging_gate needs the settings (a dict)")
    return rotate_playbook.staging_gate(in_scope, settings, bool(check_mode), rotation, databases_after, probes, reachable,
                                        usage, client_hosts, hostvars)


class FilterModule(object):
    """The rdsca.rotation.staging_gate filter."""

    def filters(self):
        return {"staging_gate": staging_gate}
