# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Several AWS accounts (issue #17): the ``accounts`` and ``organization`` options of the AWS modules.

The options are documented once, in the ``rdsca.rotation.accounts`` doc fragment;
:func:`accounts_argument_spec` is their argument spec and :func:`check_accounts` checks them before
any call. :func:`resolve_accounts` then finds the accounts (the list given, and/or AWS Organizations
``ListAccounts`` from the module's own credentials), assumes each account's role once (``sts:AssumeRole``,
in parallel), reads its alias when the role may (``iam:ListAccountAliases``, failure ignored) and registers
the account's session with :meth:`~.aws.RegionClients.add_account`; the modules then pass
``rds_api.Scope(region, account)`` for every account and region, on one bounded pool.

An account whose AssumeRole fails is returned in ``failed_accounts`` (``account``, ``role_arn``,
``error_code``, ``message``): its databases are unknown, never "none".

One small function per AWS call, as in module_utils.rds_api; the pure functions need no boto3.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Optional, Sequence

# 12 digits (AWS Account Management Reference Guide, "View AWS account identifiers"): the one definition.
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import ACCOUNT_ID

# arn:<partition>:iam::<account>:role/<optional path/><name> (IAM User Guide, "IAM identifiers").
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]{1,64})$")
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
# AssumeRole's RoleSessionName and ExternalId (AWS STS API Reference, "AssumeRole").
SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
DEFAULT_SESSION_NAME = "rdsca-rotation"
# AWS Organizations is served from us-east-1 (commercial partition).
ORGANIZATIONS_REGION = "us-east-1"
ACTIVE = "ACTIVE"

Item = dict[str, Any]


def accounts_argument_spec() -> dict[str, dict[str, Any]]:
    """Argument spec of the rdsca.rotation.accounts doc fragment (accounts, role_name, organization)."""
    return dict(
        accounts=dict(type="list", elements="dict", options=dict(
            account_id=dict(type="str"),
            role_arn=dict(type="str"),
            external_id=dict(type="str", no_log=True),
            session_name=dict(type="str"),
            alias=dict(type="str"),
        )),
        role_name=dict(type="str"),
        organization=dict(type="dict", options=dict(
            enabled=dict(type="bool", default=True),
            include=dict(type="list", elements="str"),
            exclude=dict(type="list", elements="str"),
            role_name=dict(type="str"),
            external_id=dict(type="str", no_log=True),
        )),
    )


def uses_accounts(params: Item) -> bool:
    """Whether the module works on named accounts (labels then carry the account)."""
    organization = params.get("organization") or {}
    return bool(params.get("accounts")) or bool(organization and organization.get("enabled", True))


def role_arn_for(account_id: str, role_name: str, partition: str = "aws") -> str:
    return "arn:%s:iam::%s:role/%s" % (partition, account_id, role_name)


def _account_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def check_accounts(params: Item) -> list[str]:
    """Problems with ``accounts``, ``role_name`` and ``organization``, as sentences (empty: all good)."""
    problems: list[str] = []
    role_name = params.get("role_name")
    if role_name is not None and not ROLE_NAME.match(role_name):
        problems.append("role_name %r is not an IAM role name (1 to 64 of letters, digits and +=,.@_-)" % role_name)
    seen: dict[str, int] = {}
    for number, item in enumerate(params.get("accounts") or [], start=1):
        where = "accounts[%d]" % number
        account_id = _account_text(item.get("account_id"))
        role_arn = item.get("role_arn")
        if item.get("account_id") is not None and not ACCOUNT_ID.match(account_id):
            problems.append("%s: account_id must be 12 digits, got %r (quote it in YAML: leading zeros are lost "
                            "otherwise)" % (where, item.get("account_id")))
            continue
        if role_arn is not None:
            match = ROLE_ARN.match(role_arn)
            if match is None:
                problems.append("%s: role_arn %r is not an IAM role ARN (arn:aws:iam::123456789012:role/name)"
                                % (where, role_arn))
                continue
            if account_id and match.group("account") != account_id:
                problems.append("%s: role_arn %s is in account %s, not account_id %s"
                                % (where, role_arn, match.group("account"), account_id))
                continue
            account_id = match.group("account")
        elif not account_id:
            problems.append("%s: give account_id (with the top-level role_name) or role_arn" % where)
            continue
        elif not role_name:
            problems.append("%s: account %s has no role_arn: set role_arn, or the top-level role_name"
                            % (where, account_id))
            continue
        for key, pattern, shape in (("session_name", SESSION_NAME, "2 to 64 of letters, digits and +=,.@_-"),
                                    ("external_id", EXTERNAL_ID, "2 to 1224 of letters, digits and +=,.@:/_-")):
            value = item.get(key)
            if value is not None and not pattern.match(value):
                # Never echo an external ID: it is treated as a secret.
                shown = "" if key == "external_id" else " %r" % value
                problems.append("%s: %s%s must be %s" % (where, key, shown, shape))
        if account_id in seen:
            problems.append("%s: account %s is listed twice (also accounts[%d])" % (where, account_id, seen[account_id]))
        else:
            seen[account_id] = number
    organization = params.get("organization")
    if organization and organization.get("enabled", True):
        org_role = organization.get("role_name") or role_name
        if not org_role:
            problems.append("organization: set organization.role_name (or the top-level role_name): the role "
                            "assumed in each discovered account")
        elif not ROLE_NAME.match(org_role):
            problems.append("organization.role_name %r is not an IAM role name" % org_role)
        for key in ("include", "exclude"):
            for pattern in organization.get(key) or []:
                if not pattern or not str(pattern).strip():
                    problems.append("organization.%s must not contain empty patterns" % key)
        external_id = organization.get("external_id")
        if external_id is not None and not EXTERNAL_ID.match(external_id):
            problems.append("organization.external_id must be 2 to 1224 of letters, digits and +=,.@:/_-")
    return problems


def requested_accounts(params: Item) -> list[Item]:
    """The ``accounts`` option as ``[{account, role_arn, external_id, session_name, alias}]`` (checked first)."""
    out = []
    for item in params.get("accounts") or []:
        role_arn = item.get("role_arn")
        account_id = _account_text(item.get("account_id"))
        if role_arn:
            match = ROLE_ARN.match(role_arn)
            account_id = match.group("account") if match else account_id
        else:
            role_arn = role_arn_for(account_id, params["role_name"])
        out.append(dict(account=account_id, role_arn=role_arn, external_id=item.get("external_id"),
                        session_name=item.get("session_name") or DEFAULT_SESSION_NAME, alias=item.get("alias")))
    return out


def entry_account(params: Item, account: Any, name: str) -> tuple[Optional[str], Optional[str]]:
    """The account of the database entry ``name`` with named accounts: ``(account, None)`` - its own, or the one
    account the ``accounts`` option lists - or ``(None, problem)``: it names none while several accounts (or an
    organization) are in play, its account is not 12 digits, or (without organization) the option does not list it.
    The one rule of rds_ca_rotate's and rds_ssl_usage's ``databases``."""
    organization = params.get("organization") or {}
    discovering = bool(organization) and organization.get("enabled", True)
    listed = [a["account"] for a in requested_accounts(params)]
    if not account:
        if len(listed) != 1 or discovering:
            return None, ("%s names no account: give account/region/identifier, an ARN or account (the accounts option "
                          "lists several)" % name)
        return listed[0], None
    account = str(account)
    if not ACCOUNT_ID.match(account):
        return None, "%s: account must be 12 digits, got %r" % (name, account)
    if account not in listed and not discovering:
        return None, "%s is in account %s, which the accounts option does not list" % (name, account)
    return account, None


def select_accounts(listed: Sequence[Item], include: Optional[Sequence[str]] = None,
                    exclude: Optional[Sequence[str]] = None) -> list[Item]:
    """The ACTIVE accounts of ListAccounts whose id or name matches ``include`` (all when empty) and no ``exclude``."""
    def matches(account: Item, patterns: Sequence[str]) -> bool:
        names = [str(account.get("Id") or ""), str(account.get("Name") or "")]
        return any(fnmatch.fnmatchcase(name, str(p)) for p in patterns for name in names)

    chosen = []
    for account in listed:
        if account.get("Status", ACTIVE) != ACTIVE:
            continue
        if include and not matches(account, include):
            continue
        if exclude and matches(account, exclude):
            continue
        chosen.append(account)
    return sorted(chosen, key=lambda a: a.get("Id") or "")


def organization_accounts(params: Item, listed: Sequence[Item]) -> list[Item]:
    """The accounts ``organization`` selects from ListAccounts, in the shape of :func:`requested_accounts`."""
    organization = params.get("organization") or {}
    role = organization.get("role_name") or params.get("role_name")
    out = []
    for account in select_accounts(listed, organization.get("include"), organization.get("exclude")):
        out.append(dict(account=account["Id"], role_arn=role_arn_for(account["Id"], role),
                        external_id=organization.get("external_id"), session_name=DEFAULT_SESSION_NAME,
                        alias=None, name=account.get("Name")))
    return out


def merge_accounts(given: Sequence[Item], discovered: Sequence[Item]) -> list[Item]:
    """``given`` first, then the discovered accounts not given (the given entry wins: its role, its alias)."""
    seen = set(a["account"] for a in given)
    return list(given) + [a for a in discovered if a["account"] not in seen]


def by_account(items: Sequence[Item], summarize: Any, accounts: Sequence[str] = ()) -> dict[str, Any]:
    """``{account: summarize(its items)}``: a module's summary per account (``summary.by_account``).

    Each item's ``account`` (``unknown`` when it has none); ``accounts``: accounts listed even without an item
    (``summarize([])``). The accounts of ``failed_accounts`` are the caller's to add or leave out.
    """
    grouped: dict[str, list[Item]] = dict((account, []) for account in accounts)
    for item in items:
        grouped.setdefault(item.get("account") or "unknown", []).append(item)
    return dict((account, summarize(group)) for account, group in sorted(grouped.items()))


# -- AWS calls: one small function per call ---------------------------------------------------------

def list_accounts(organizations: Any) -> list[Item]:
    """Organizations ListAccounts, every page (``NextToken``), retried per page."""
    from ansible_collections.rdsca.rotation.plugins.module_utils.aws import call

    accounts: list[Item] = []
    params: Item = dict(MaxResults=20)  # the API's maximum page
    while True:
        page = call(organizations, "list_accounts", **params)
        accounts.extend(page.get("Accounts") or [])
        token = page.get("NextToken")
        if not token or token == params.get("NextToken"):
            return accounts
        params["NextToken"] = token


def assume_role(sts: Any, role_arn: str, session_name: str, external_id: Optional[str] = None) -> Item:
    """STS AssumeRole; the temporary ``Credentials``."""
    from ansible_collections.rdsca.rotation.plugins.module_utils.aws import call

    params: Item = dict(RoleArn=role_arn, RoleSessionName=session_name)
    if external_id:
        params["ExternalId"] = external_id
    return call(sts, "assume_role", **params)["Credentials"]


def account_alias(iam: Any) -> Optional[str]:
    """IAM ListAccountAliases of the account ``iam`` is in: its alias, None when it has none or it is not readable."""
    from ansible_collections.rdsca.rotation.plugins.module_utils.aws import AWS_ERRORS
    from ansible_collections.rdsca.rotation.plugins.module_utils.aws import call

    try:
        aliases = call(iam, "list_account_aliases").get("AccountAliases") or []
    except AWS_ERRORS:  # pylint: disable=catching-non-exception
        return None
    return aliases[0] if aliases else None


def session_from(credentials: Item) -> Any:
    """A boto3 session holding an assumed role's temporary credentials (main thread)."""
    import boto3

    return boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                 aws_secret_access_key=credentials["SecretAccessKey"],
                                 aws_session_token=credentials["SessionToken"])


# -- resolution --------------------------------------------------------------------------------------

def resolve_accounts(module: Any, clients: Any, params: Item, region: str, concurrency: int = 16,
                     only: Optional[Any] = None) -> tuple[list[Item], list[Item]]:
    """``(accounts, failed_accounts)``: each account's role assumed once, its session added to ``clients``.

    ``accounts``: ``[{account, role_arn, alias}]`` sorted by account; ``failed_accounts``:
    ``[{account, role_arn, error_code, message}]``. ``region`` is where STS is called (the module's own
    credentials). Organizations ListAccounts failing, or selecting no account, fails the module: the estate would
    be unknown.
    ``only``: assume the roles of these accounts only (rds_ca_rotate: the accounts its databases are in).
    """
    from concurrent.futures import ThreadPoolExecutor

    from ansible_collections.rdsca.rotation.plugins.module_utils.aws import AWS_ERRORS
    from ansible_collections.rdsca.rotation.plugins.module_utils.aws import error_info

    wanted = requested_accounts(params)
    organization = params.get("organization") or {}
    if organization and organization.get("enabled", True):
        try:
            listed = list_accounts(clients.get("organizations", ORGANIZATIONS_REGION))
        except AWS_ERRORS as e:  # pylint: disable=catching-non-exception
            module.fail_json_aws(e, msg="Couldn't list the organization's accounts (organizations:ListAccounts)",
                                 api_calls=clients.counter.snapshot())
        discovered = organization_accounts(params, listed)
        if not discovered:
            # An organization that selects nothing (a filter typo, the wrong credentials) is no empty estate.
            module.fail_json(msg="organization: none of the %d account(s) organizations:ListAccounts returned is ACTIVE "
                                 "and matches include %s / exclude %s; nothing was read" % (
                                     len(listed), organization.get("include") or ["*"], organization.get("exclude") or []),
                             api_calls=clients.counter.snapshot())
        wanted = merge_accounts(wanted, discovered)
    if only is not None:
        wanted = [a for a in wanted if a["account"] in only]
    if not wanted:
        return [], []
    sts = clients.get("sts", region)

    def assume(account: Item) -> tuple[Item, Any, Optional[Item]]:
        try:
            return account, assume_role(sts, account["role_arn"], account["session_name"], account["external_id"]), None
        except AWS_ERRORS as e:  # pylint: disable=catching-non-exception
            return account, None, error_info(e)

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(wanted)))) as pool:
        outcomes = list(pool.map(assume, wanted))
    resolved = []
    failed = []
    for account, credentials, error in outcomes:
        if error is not None:
            failed.append(dict(account=account["account"], role_arn=account["role_arn"], **error))
            continue
        # Sessions are made in the main thread (boto3 sessions are not thread-safe).
        clients.add_account(account["account"], session_from(credentials))
        resolved.append(account)
    missing = [a for a in resolved if not a.get("alias")]

    def alias_of(account: Item) -> Optional[str]:
        return account_alias(clients.get("iam", region, account=account["account"]))

    for account in missing:  # the clients are made here, in the main thread
        clients.get("iam", region, account=account["account"])
    if missing:
        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(missing)))) as pool:
            for account, alias in zip(missing, pool.map(alias_of, missing)):
                account["alias"] = alias
    accounts = [dict(account=a["account"], role_arn=a["role_arn"], alias=a.get("alias")) for a in resolved]
    return sorted(accounts, key=lambda a: a["account"]), sorted(failed, key=lambda a: a["account"])


def describe_failed(failed: Sequence[Item]) -> str:
    """``123456789012 (AccessDenied: ...), ...`` for messages."""
    return ", ".join("%s (%s: %s)" % (f["account"], f["error_code"], f["message"]) for f in failed)


def account_of_arn(arn: Any) -> Optional[str]:
    """The account of an ARN (``arn:aws:rds:<region>:<account>:...``), None when there is none."""
    parts = str(arn or "").split(":")
    if len(parts) >= 6 and parts[0] == "arn" and ACCOUNT_ID.match(parts[4]):
        return parts[4]
    return None
