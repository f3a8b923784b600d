# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: verify_targets
short_description: "The databases of a phase that are now on the target CA, as endpoints to verify"
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - "From C(rdsca.rotation.rds_ca_facts) RV(databases) read after a phase: the databases of O(labels) on O(target_ca)
    with an endpoint whose TLS handshake the playbooks verify (PostgreSQL and MySQL protocols), with the protocol."
positional: _input, labels, target_ca
options:
  _input:
    description:
      - "C(rdsca.rotation.rds_ca_facts) RV(databases) after the phase."
    type: list
    elements: dict
    required: true
  labels:
    description:
      - "The labels (C(region/identifier)) of the phase's databases."
    type: list
    elements: str
    required: true
  target_ca:
    description:
      - "The CA the phase rotated to."
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
- name: List the endpoints on the target CA
  ansible.builtin.set_fact:
    targets: "{{ facts_after.databases | rdsca.rotation.verify_targets(staging_labels, 'rds-ca-rsa2048-g1') }}"
"""

RETURN = r"""
_value:
  description:
    - "C({label, identifier, region, cluster_id, server_name, port, protocol}) per database."
  type: list
"""

from ansible.module_utils.parsing.convert_bool import boolean

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def verify_targets(databases, labels, target_ca, accounts=False):
    """The verification targets of a phase."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import rotate_playbook
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.rotate_playbook import check_list as _check_list
    _check_list(databases, "rds_ca_facts databases", "verify_targets")
    return rotate_playbook.verify_targets(databases, _check_list(labels, "the labels", "verify_targets"), target_ca,
                                          accounts=boolean(accounts or False, strict=False))


class FilterModule(object):
    """The rdsca.rotation.verify_targets filter."""

    def filters(self):
        return {"verify_targets": verify_targets}
