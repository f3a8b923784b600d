# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: endpoint_probes
short_description: "What the controller's probes of a phase's endpoints showed"
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - "From C(rdsca.rotation.rds_ssl_usage) RV(databases): for each database of O(labels), whether its endpoint presents
    O(target_ca) and its chain verifies against the bundle, and why not."
positional: _input, labels, target_ca
options:
  _input:
    description:
      - "C(rdsca.rotation.rds_ssl_usage) RV(databases) (an empty list when it did not run)."
    type: list
    elements: dict
    required: true
  labels:
    description:
      - "The labels of the endpoints to report."
    type: list
    elements: str
    required: true
  target_ca:
    description:
      - "The CA the endpoints must present."
    type: str
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
- name: Record the probes
  ansible.builtin.set_fact:
    probes: "{{ probe_result.databases | default([]) | rdsca.rotation.endpoint_probes(labels, 'rds-ca-rsa2048-g1') }}"
"""

RETURN = r"""
_value:
  description:
    - "C({label, verified, presented_ca, error}) per endpoint."
  type: list
"""

from ansible.module_utils.parsing.convert_bool import boolean

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def endpoint_probes(databases, labels, target_ca, accounts=False):
    """The verdict of each probe."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import rotate_playbook
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.rotate_playbook import check_list as _check_list
    _check_list(databases, "rds_ssl_usage databases", "endpoint_probes")
    return rotate_playbook.endpoint_probes(databases, _check_list(labels, "the labels", "endpoint_probes"), target_ca,
                                           accounts=boolean(accounts or False, strict=False))


class FilterModule(object):
    """The rdsca.rotation.endpoint_probes filter."""

    def filters(self):
        return {"endpoint_probes": endpoint_probes}
