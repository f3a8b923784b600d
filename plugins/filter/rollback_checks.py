# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: rollback_checks
short_description: "Which rollback entries can go back to their CA"
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - "Each entry (the C(rdsca.rotation.rollback_entries) filter) checked against what C(rdsca.rotation.rds_ca_facts)
    read: refused, with the reason, when the database is not found, there is no CA to go back to, the CA is not one of
    the region's or has expired (rds-ca-2019 since August 2024), or the engine version does not support it."
positional: _input, facts
options:
  _input:
    description:
      - "The entries."
    type: list
    elements: dict
    required: true
  facts:
    description:
      - "What C(rdsca.rotation.rds_ca_facts) returned for them."
    type: dict
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
- name: Check each database against the CA it goes back to
  ansible.builtin.set_fact:
    rollback_checked: "{{ (rollback.entries | rdsca.rotation.rollback_checks(facts)).entries }}"
"""

RETURN = r"""
_value:
  description:
    - "V(entries) (each with C(found) and C(refused)), V(refused) (the refused ones as rotation results, status
      V(not_possible)) and V(problems) (the databases not found, or found in several accounts while the entry names
      none)."
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def rollback_checks(entries, facts, accounts=False):
    """The entries checked."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import rotate_playbook
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.rotate_playbook import check_list as _check_list
    _check_list(entries, "the rollback entries", "rollback_checks")
    if not isinstance(facts, dict):
        raise AnsibleFilterError("rdsca.rotation.rollback_checks needs the rds_ca_facts result (a dict)")
    checked = rotate_playbook.rollback_checks(entries, facts, accounts=boolean(accounts or False, strict=False))
    return {"entries": checked, "refused": rotate_playbook.rollback_refused(checked),
            # Not found, or (across accounts) found in several accounts while the entry names none.
            "problems": ["%s: %s" % (entry["label"], "not found" if entry["refused"].startswith("not found") else entry["refused"])
                         for entry in checked if not entry["found"]]}


class FilterModule(object):
    """The rdsca.rotation.rollback_checks filter."""

    def filters(self):
        return {"rollback_checks": rollback_checks}
