# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: account_settings
short_description: Parse and check the accounts of an rdsca.rotation playbook run
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - Turns C(rdsca_accounts), C(rdsca_organization), C(rdsca_account_role_name) and C(rdsca_strict), as given with
    C(-e), inventory or AWX surveys, into the modules' C(accounts), C(organization), C(role_name) and C(strict)
    options, and lists every value that cannot work (issue 17).
  - C(rdsca_accounts) is a list of mappings (C(account_id), C(role_arn), C(external_id), C(session_name), C(alias)),
    or account IDs (a list, or a text with commas, semicolons or blanks, as an AWX text survey gives it).
  - Account IDs must be 12 digits, role ARNs IAM role ARNs (of the account given), external IDs and session names
    what STS accepts; an account listed twice, an account without a role (no C(role_arn) and no
    C(rdsca_account_role_name)), an organization without a role name, an unknown key or a non-boolean is refused,
    as the modules refuse them. The external ID is never repeated in a message.
positional: _input, organization, role_name, strict
options:
  _input:
    description:
      - C(rdsca_accounts) (null or an empty string when not given).
    type: raw
    required: true
  organization:
    description:
      - C(rdsca_organization), a mapping (C(enabled), C(include), C(exclude), C(role_name), C(external_id)) or a boolean.
    type: raw
  role_name:
    description:
      - C(rdsca_account_role_name), the role assumed in the accounts given without C(role_arn).
    type: str
  strict:
    description:
      - C(rdsca_strict).
    type: raw
"""

EXAMPLES = r"""
---
- name: Resolve the accounts
  ansible.builtin.set_fact:
    rdsca_account_cfg: >-
      {{ rdsca_accounts | default(none) | rdsca.rotation.account_settings(rdsca_organization | default(none),
                                                                         rdsca_account_role_name | default(none),
                                                                         rdsca_strict | default(false)) }}

- name: Refuse what cannot work
  ansible.builtin.assert:
    that: rdsca_account_cfg.problems | length == 0
    fail_msg: "{{ rdsca_account_cfg.problems | join('; ') }}"
"""

RETURN = r"""
_value:
  description:
    - "V(accounts) (the list for the modules' C(accounts) option, empty when not given), V(accounts_shown) (the same
      with the external IDs masked), V(organization_shown) (V(organization), its external ID masked), V(organization) (the
      modules' C(organization) option, empty when not given or disabled), V(role_name) (empty when not given),
      V(strict), V(multi_account) (true when accounts or an organization are given: labels then carry the account)
      and V(problems) (one sentence per invalid value)."
  type: dict
"""

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def account_settings(accounts, organization=None, role_name=None, strict=False):
    """The accounts resolved and checked."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.account_settings import account_settings as _account_settings
    return _account_settings(accounts, organization, role_name, strict)


class FilterModule(object):
    """The rdsca.rotation.account_settings filter."""

    def filters(self):
        return {"account_settings": account_settings}
