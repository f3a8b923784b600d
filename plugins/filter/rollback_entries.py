# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: rollback_entries
short_description: "The databases the rollback playbook puts back, and the CA of each"
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - "Every database a rotate report rotated (not planned), back to its CA before that run; and every entry of
    O(databases), parsed as C(rdsca.rotation.rds_ca_rotate) parses its C(databases) option (identifiers in
    O(default_region), C(region/identifier) labels, ARNs, or mappings with C(identifier), C(region) and C(to_ca));
    O(to_ca) is the CA of those that do not say. O(identifiers) (shell-style patterns) narrows both."
positional: _input, databases
options:
  _input:
    description:
      - "The rotate report (JSON, parsed), or null."
    type: raw
    required: true
  databases:
    description:
      - "C(rdsca_rollback_databases)."
    type: list
    required: true
  to_ca:
    description:
      - "The CA of the entries that do not name one (C(rdsca_rollback_to_ca))."
    type: str
  identifiers:
    description:
      - "Patterns on identifiers or labels (C(rdsca_identifiers))."
    type: list
    elements: str
    default: []
  default_region:
    description:
      - "The region of a bare identifier (the AWS connection's)."
    type: str
  accounts:
    description:
      - "True in a run over several accounts (rdsca_accounts or rdsca_organization, C(rdsca_cfg.multi_account)):
        the labels are C(account/region/identifier). Entries may name their account either way
        (C(account/region/identifier), an ARN, or C(account) in a mapping)."
    type: bool
    default: false
"""

EXAMPLES = r"""
---
- name: List the databases to put back
  ansible.builtin.set_fact:
    rollback: >-
      {{ none | rdsca.rotation.rollback_entries(['us-east-1/orders-prod'], to_ca='rds-ca-rsa4096-g1') }}
"""

RETURN = r"""
_value:
  description:
    - "V(entries) (C({label, region, identifier, to_ca, from}) each) and V(problems) (entries not understood)."
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def rollback_entries(report, databases, to_ca=None, identifiers=None, default_region=None, accounts=False):
    """The rollback's entries."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import rotate_playbook
    if report is not None and not isinstance(report, dict):
        raise AnsibleFilterError("rdsca.rotation.rollback_entries: the report must be a rotate report (a dict) or null")
    if not isinstance(databases, list):
        raise AnsibleFilterError("rdsca.rotation.rollback_entries: rdsca_rollback_databases must be a list")
    return rotate_playbook.rollback_entries(report, databases, to_ca or None, identifiers or [], default_region or None,
                                            accounts=boolean(accounts or False, strict=False))


class FilterModule(object):
    """The rdsca.rotation.rollback_entries filter."""

    def filters(self):
        return {"rollback_entries": rollback_entries}
