# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The accounts of a playbook run (issue 17), resolved and checked before anything is read or changed.

``rdsca_accounts`` is the modules' ``accounts`` option (a list of ``{account_id, role_arn, external_id, session_name,
alias}``), or, as an AWX text survey gives it, account IDs separated by commas, semicolons or blanks (each then
reached through ``rdsca_account_role_name``). ``rdsca_organization`` is the modules' ``organization`` option (``enabled``,
``include``, ``exclude``, ``role_name``). The values are checked with the rules AWS applies (account IDs of 12 digits,
IAM role ARNs and names, STS external IDs and session names), so that a typo stops the run with a sentence, not
half-way through the estate.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from ansible.module_utils.parsing.convert_bool import boolean

# One definition of each AWS identifier's shape (module_utils.accounts checks the same options in the modules).
from ansible_collections.rdsca.rotation.plugins.module_utils.accounts import EXTERNAL_ID, ROLE_ARN, ROLE_NAME, SESSION_NAME
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import ACCOUNT_ID

ACCOUNT_KEYS = ("account_id", "role_arn", "external_id", "session_name", "alias")
ORGANIZATION_KEYS = ("enabled", "include", "exclude", "role_name", "external_id")


def _text(value: Any) -> str | None:
    """A scalar as text (an integer account ID from YAML too); None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int)):
        return str(value).strip()
    return None


def _account(item: Any, number: int, problems: list[str]) -> dict[str, Any] | None:
    where = "rdsca_accounts[%d]" % number
    if isinstance(item, (str, int)) and not isinstance(item, bool):
        item = {"account_id": item}
    if not isinstance(item, Mapping):
        problems.append("%s must be an account ID or a mapping with account_id or role_arn, got %s" % (where, type(item).__name__))
        return None
    unknown = sorted(str(k) for k in item if k not in ACCOUNT_KEYS)
    if unknown:
        problems.append("%s: unknown key(s) %s (known: %s)" % (where, ", ".join(unknown), ", ".join(ACCOUNT_KEYS)))
        return None
    out: dict[str, Any] = {}
    account = _text(item.get("account_id")) if item.get("account_id") not in (None, "") else None
    if item.get("account_id") not in (None, "") and (account is None or not ACCOUNT_ID.match(account)):
        problems.append("%s: account_id must be 12 digits (quote it in YAML: a leading 0 is lost), got %r" % (where, item.get("account_id")))
        return None
    role_arn = item.get("role_arn")
    if role_arn not in (None, ""):
        match = ROLE_ARN.match(str(role_arn)) if isinstance(role_arn, str) else None
        if match is None:
            problems.append("%s: role_arn must be an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>), got %r" % (where, role_arn))
            return None
        if account and match.group("account") != account:
            problems.append("%s: role_arn %s is a role of account %s, not of account_id %s" % (where, role_arn, match.group("account"), account))
            return None
        out["role_arn"] = role_arn
        account = account or match.group("account")
    if not account:
        problems.append("%s needs account_id (12 digits) or role_arn" % where)
        return None
    out["account_id"] = account
    for key, pattern, rule in (("external_id", EXTERNAL_ID, "2-1224 characters of letters, digits and +=,.@:/-"),
                               ("session_name", SESSION_NAME, "2-64 characters of letters, digits and +=,.@-")):
        value = item.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or not pattern.match(value):
            # The external ID is a shared secret: never repeated in a message.
            problems.append("%s: %s must be %s%s" % (where, key, rule, "" if key == "external_id" else ", got %r" % (value,)))
            return None
        out[key] = value
    if item.get("alias") not in (None, ""):
        out["alias"] = str(item["alias"])
    return out


def _patterns(value: Any, name: str, problems: list[str]) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return re.findall(r"[^,;\s]+", value)
    if isinstance(value, list) and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
        return [str(v) for v in value]
    problems.append("rdsca_organization.%s must be a list of patterns (account IDs or names), got %r" % (name, value))
    return []


def _organization(value: Any, problems: list[str]) -> dict[str, Any]:
    if value in (None, "", {}):
        return {}
    if isinstance(value, (bool, str)):
        try:
            value = {"enabled": boolean(value, strict=True)}
        except TypeError:
            problems.append("rdsca_organization must be a mapping (enabled, include, exclude, role_name) or a boolean, got %r" % value)
            return {}
    if not isinstance(value, Mapping):
        problems.append("rdsca_organization must be a mapping (enabled, include, exclude, role_name), got %s" % type(value).__name__)
        return {}
    unknown = sorted(str(k) for k in value if k not in ORGANIZATION_KEYS)
    if unknown:
        problems.append("rdsca_organization: unknown key(s) %s (known: %s)" % (", ".join(unknown), ", ".join(ORGANIZATION_KEYS)))
        return {}
    try:
        enabled = boolean(value.get("enabled", True), strict=True)
    except TypeError:
        problems.append("rdsca_organization.enabled must be a boolean, got %r" % (value.get("enabled"),))
        return {}
    if not enabled:
        return {}
    out: dict[str, Any] = {"enabled": True, "include": _patterns(value.get("include"), "include", problems),
                           "exclude": _patterns(value.get("exclude"), "exclude", problems)}
    if value.get("role_name") not in (None, ""):
        if not isinstance(value["role_name"], str) or not ROLE_NAME.match(value["role_name"]):
            problems.append("rdsca_organization.role_name must be an IAM role name, got %r" % (value["role_name"],))
        else:
            out["role_name"] = value["role_name"]
    if value.get("external_id") not in (None, ""):
        if not isinstance(value["external_id"], str) or not EXTERNAL_ID.match(value["external_id"]):
            problems.append("rdsca_organization.external_id must be 2-1224 characters of letters, digits and +=,.@:/-")
        else:
            out["external_id"] = value["external_id"]
    return out


def account_settings(accounts: Any, organization: Any = None, role_name: Any = None, strict: Any = False) -> dict[str, Any]:
    """``{accounts, accounts_shown, organization, role_name, strict, multi_account, problems}`` from the playbook variables.

    ``accounts``: the list for the modules' ``accounts`` option ([] when not given); ``accounts_shown`` and ``organization_shown``:
    the same with the external IDs masked (for rdsca_cfg and the report); ``organization``: the modules'
    ``organization`` option ({} when not given or disabled); ``role_name``: the role assumed in accounts given by ID
    only ('' when not given, or without accounts and organization); ``multi_account``: labels carry the account; ``problems``: one sentence per invalid value
    (nothing is read or changed while there is one).
    """
    problems: list[str] = []
    items: list[Any]
    if accounts in (None, ""):
        items = []
    elif isinstance(accounts, str):
        items = re.findall(r"[^,;\s]+", accounts)
    elif isinstance(accounts, list):
        items = accounts
    else:
        problems.append("rdsca_accounts must be a list of accounts (or account IDs separated by commas), got %s" % type(accounts).__name__)
        items = []
    out_accounts = []
    seen: set[str] = set()
    for number, item in enumerate(items):
        account = _account(item, number, problems)
        if account is None:
            continue
        if account["account_id"] in seen:
            problems.append("rdsca_accounts: account %s is listed twice" % account["account_id"])
            continue
        seen.add(account["account_id"])
        out_accounts.append(account)
    role = "" if role_name in (None, "") else role_name
    if role and (not isinstance(role, str) or not ROLE_NAME.match(role)):
        problems.append("rdsca_account_role_name must be an IAM role name (1-64 characters of letters, digits and +=,.@-), got %r" % (role,))
        role = ""
    org = _organization(organization, problems)
    # As the modules check them (module_utils.accounts.check_accounts): a role for every account.
    no_role = [a["account_id"] for a in out_accounts if "role_arn" not in a]
    if no_role and not role:
        problems.append("rdsca_accounts: account(s) %s have no role_arn: set rdsca_account_role_name (the role assumed in "
                        "each) or a role_arn per account" % ", ".join(no_role))
    if org and not org.get("role_name") and not role:
        problems.append("rdsca_organization: set its role_name (or rdsca_account_role_name): the role assumed in each "
                        "discovered account")
    if not out_accounts and not org:
        # An AWX survey's default role name, without accounts: a run in the credential's own account.
        role = ""
    try:
        strict_flag = boolean(strict if strict not in (None, "") else False, strict=True)
    except TypeError:
        problems.append("rdsca_strict must be a boolean, got %r" % (strict,))
        strict_flag = False
    shown = [dict(a, external_id="********") if "external_id" in a else a for a in out_accounts]
    return {"accounts": out_accounts, "accounts_shown": shown, "organization": org, "role_name": role, "strict": strict_flag,
            "organization_shown": dict(org, external_id="********") if "external_id" in org else org,
            "multi_account": bool(out_accounts or org), "problems": problems}
