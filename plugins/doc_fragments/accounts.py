# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # Options of the AWS modules that work across several AWS accounts (issue 17).
    # The matching argument spec is plugins/module_utils/accounts.py:accounts_argument_spec().
    DOCUMENTATION = r"""
options:
  accounts:
    description:
      - The AWS accounts to work on, each reached by assuming a role (C(sts:AssumeRole)) with the module's own
        credentials, once per account. Every region is then queried in every account, on one bounded pool
        (O(concurrency)).
      - When set (or O(organization) is), every result item carries C(account) and C(account_alias), and labels read
        C(<account>/<region>/<identifier>). Only the accounts listed (and discovered) are queried, not the account of
        the module's own credentials (list it too, with a role, to include it).
      - An account whose role cannot be assumed is reported in RV(failed_accounts) and the others go on, unless
        O(strict=true). Its databases are unknown, not absent.
      - The option is checked before any call; bad account IDs, role ARNs, duplicates fail the task.
      - When unset, only the module's own credentials are used, as before, and labels read C(<region>/<identifier>).
    type: list
    elements: dict
    suboptions:
      account_id:
        description:
          - The 12-digit account ID (quote it in YAML). Required unless O(accounts[].role_arn) is given.
          - With O(role_name), the role assumed is C(arn:aws:iam::<account_id>:role/<role_name>).
        type: str
      role_arn:
        description:
          - The ARN of the role to assume in the account. Its account must be O(accounts[].account_id) when both are given.
        type: str
      external_id:
        description:
          - The external ID the role's trust policy requires (C(sts:ExternalId)). Never logged.
        type: str
      session_name:
        description:
          - The role session name (C(RoleSessionName)), shown in the account's CloudTrail. Default C(rdsca-rotation).
        type: str
      alias:
        description:
          - A name for the account, returned as C(account_alias). When unset, the account's IAM alias is read
            (C(iam:ListAccountAliases) in the account; C(account_alias) is null when the role may not read it).
        type: str
  role_name:
    description:
      - The role name assumed in every account of O(accounts) given by O(accounts[].account_id) only, and in the
        accounts O(organization) discovers unless O(organization.role_name) is set.
    type: str
  organization:
    description:
      - Discover the accounts with AWS Organizations (C(organizations:ListAccounts), every page) from the module's own
        credentials, which must be the organization's management account or a delegated administrator.
      - Only C(ACTIVE) accounts are kept. Accounts also listed in O(accounts) keep their entry there.
      - A failed C(ListAccounts), or one that leaves no account once C(ACTIVE), O(organization.include) and
        O(organization.exclude) are applied, fails the task before any other call (the estate would be unknown,
        not empty).
    type: dict
    suboptions:
      enabled:
        description: Whether to discover the accounts.
        type: bool
        default: true
      include:
        description: Keep only the accounts whose ID or name matches one of these shell-style patterns.
        type: list
        elements: str
      exclude:
        description: Leave out the accounts whose ID or name matches one of these shell-style patterns.
        type: list
        elements: str
      role_name:
        description: The role assumed in each discovered account (default O(role_name)).
        type: str
      external_id:
        description: The external ID the discovered accounts' roles require. Never logged.
        type: str
notes:
  - "Accounts: the module's credentials need C(sts:AssumeRole) on the roles (and C(organizations:ListAccounts) for
    O(organization)); each role trusts the module's principal (see C(docs/iam-trust-policy.json)) and grants the
    read (and, for rotation, change) actions of C(docs/iam-policy.json), plus C(iam:ListAccountAliases) for the alias."
"""
