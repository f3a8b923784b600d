# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: preflight_checks
short_description: "The pre-flight of the rotate playbook - what stops the run, what the report mentions"
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - "From what discovery read, before any change: V(problems) stop the run (a region that could not be read, a target CA
    that is not a CA of a region it is applied in or has expired, an engine version that does not support it, an
    endpoint the controller cannot reach with C(rdsca_verify=all)); V(warnings) go into the report."
  - "V(account_overrides): the regions whose default CA for new launches is a deliberate override (CustomerOverride) to
    another valid CA, which the account default step keeps unless C(replace_account_override). Keyed C(account/region)
    in a run over several accounts, where the target CA is checked in every account and region read when the account
    default is set."
positional: _input, facts, settings
options:
  _input:
    description:
      - "The databases with their phase (the C(rdsca.rotation.rotation_phases) filter)."
    type: list
    elements: dict
    required: true
  facts:
    description:
      - "What C(rdsca.rotation.rds_ca_facts) returned."
    type: dict
    required: true
  settings:
    description:
      - "The resolved settings (C(rdsca_cfg))."
    type: dict
    required: true
  reachable:
    description:
      - "Labels of the endpoints the controller reaches with TLS."
    type: list
    elements: str
    default: []
  usage:
    description:
      - "C(rdsca.rotation.rds_ssl_usage) RV(databases), for the reason an endpoint is unreachable."
    type: list
    elements: dict
    default: []
  audit:
    description:
      - "The run is an audit: it changes nothing, and the warnings say what a rotation would do."
    type: bool
    default: false
"""

EXAMPLES = r"""
---
- name: Check what would stop the rotation
  ansible.builtin.set_fact:
    rdsca_preflight: >-
      {{ rdsca_dbs | rdsca.rotation.preflight_checks(rdsca_facts_before, rdsca_cfg, reachable=rdsca_reachable) }}
"""

RETURN = r"""
_value:
  description:
    - "V(in_scope) (the staging and production databases), V(account_overrides), V(problems) and V(warnings)."
  type: dict
"""

from ansible.errors import AnsibleFilterError

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def preflight_checks(databases, facts, settings, reachable=None, usage=None, audit=False):
    """in_scope, account_overrides, problems and warnings."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import rotate_playbook
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.rotate_playbook import check_list as _check_list
    _check_list(databases, "the databases", "preflight_checks")
    if not isinstance(facts, dict) or not isinstance(settings, dict):
        raise AnsibleFilterError("rdsca.rotation.preflight_checks needs the rds_ca_facts result and the settings (dicts)")
    return rotate_playbook.preflight_checks(databases, facts, settings, reachable, usage, bool(audit))


class FilterModule(object):
    """The rdsca.rotation.preflight_checks filter."""

    def filters(self):
        return {"preflight_checks": preflight_checks}
