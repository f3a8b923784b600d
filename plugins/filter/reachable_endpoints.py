# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: reachable_endpoints
short_description: "The databases whose endpoint the controller reached with TLS"
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - "The labels (C(region/identifier)) of the databases whose probe in C(rdsca.rotation.rds_ssl_usage) RV(databases)
    reached the endpoint and negotiated TLS: those the playbooks verify from the controller."
positional: _input
options:
  _input:
    description:
      - "C(rdsca.rotation.rds_ssl_usage) RV(databases) (an empty list when it did not run)."
    type: list
    elements: dict
    required: true
  accounts:
    description:
      - "True in a run over several accounts (rdsca_accounts or rdsca_organization, C(rdsca_cfg.multi_account)):
        the labels are C(account/region/identifier)."
    type: bool
    default: false
"""

EXAMPLES = r"""
---
- name: Note which endpoints the controller reaches with TLS
  ansible.builtin.set_fact:
    rdsca_reachable: "{{ rdsca_usage.databases | default([]) | rdsca.rotation.reachable_endpoints }}"
"""

RETURN = r"""
_value:
  description:
    - "The labels, in the order of the input."
  type: list
"""

from ansible.module_utils.parsing.convert_bool import boolean

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def reachable_endpoints(databases, accounts=False):
    """Labels of the databases whose endpoint was reached with TLS."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import rotate_playbook
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.rotate_playbook import check_list as _check_list
    return rotate_playbook.reachable_endpoints(_check_list(databases, "rds_ssl_usage databases", "reachable_endpoints"),
                                               accounts=boolean(accounts or False, strict=False))


class FilterModule(object):
    """The rdsca.rotation.reachable_endpoints filter."""

    def filters(self):
        return {"reachable_endpoints": reachable_endpoints}
