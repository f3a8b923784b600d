"""Several AWS accounts: the caller's own, and others reached with ``sts:AssumeRole``.

How moto 5.x serves several accounts (read in moto's source): every backend is kept per account
(``rds_backends[account][region]``). ``AssumeRole`` (``moto.sts.models.STSBackend.assume_role``) takes the
account from the role ARN and creates a temporary ``ASIA...`` access key in *that* account's IAM backend;
each later request is served from the account whose IAM backend holds the request's access key
(``BaseResponse.get_current_account`` -> ``moto.iam.models.get_account_id_from``). A key moto does not
hold (the simulator's own ``AKIASIMULATOR...`` key, any other) lands in moto's default account 123456789012.
So credentials from an AssumeRole into account B see only B's databases, with no help from here.

What moto lacks and this module adds:

* ``AssumeRole`` is refused as AWS refuses it: HTTP 403, code ``AccessDenied``, "User: <caller ARN> is not
  authorized to perform: sts:AssumeRole on resource: <role ARN>" (AWS STS API Reference, "AssumeRole" and
  "Common Errors"; IAM User Guide, "Troubleshoot IAM roles": "I can't assume a role") when the role's account
  is not part of the estate or has no such role, when the role's trust policy refuses the caller (fleet
  ``deny_assume_role``, or ``POST /_sim/accounts/deny`` at run time), or when the trust policy requires an
  ``sts:ExternalId`` the call does not carry (IAM User Guide, "Access to AWS resources owned by third
  parties": the external ID condition). moto alone lets anyone assume any role ARN, existing or not.
* The caller's own credentials land in the fleet's ``account_id`` (moto alone: always 123456789012); the
  control layer names each request's account (fault rules and call counts per account).
* ``iam:ListAccountAliases`` shows an account's ``alias`` (IAM API Reference, "ListAccountAliases").
* AWS Organizations (fleet ``organization:``): moto's own Organizations backend, seeded so that the caller's
  account is the management account and the fleet's other accounts its members, with *their* IDs (moto's
  ``CreateAccount`` draws random ones) and names; ``ListAccounts`` lists them all, the management account too,
  with ``Status`` ``ACTIVE`` or ``SUSPENDED`` (AWS Organizations API Reference, "ListAccounts", "Account";
  User Guide, "Terminology and concepts": the management account). ``ListAccounts`` may be called only from
  the management account (or a delegated administrator, not modelled): from a member account AWS answers
  ``AccessDeniedException`` "You don't have permissions to access this resource.", from an account in no
  organization ``AWSOrganizationsNotInUseException`` (API Reference, "ListAccounts", Errors); moto alone answers
  a member with an empty list.
"""

from __future__ import annotations

import re
import threading
import warnings
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.iam.models import iam_backends
from moto.organizations.exceptions import AWSOrganizationsNotInUseException, OrganizationsClientError
from moto.organizations.models import organizations_backends
from moto.organizations.responses import OrganizationsResponse
from moto.sts.responses import TokenResponse

from .fleet import AccountSpec, Fleet

# arn:<partition>:iam::<account>:role/<optional path/><name> (IAM User Guide, "IAM identifiers").
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]{1,64})$")
_ACCESS_KEY = re.compile(r"Credential=([A-Z0-9]{16,128})/")


class _Accounts:
    """The estate's accounts and who may assume which role; replaced by every fleet load."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.main_account = DEFAULT_ACCOUNT_ID
        self.accounts: dict[str, AccountSpec] = {}
        # Denials added at run time (POST /_sim/accounts/deny): (account, role name or "*").
        self.denied: set[tuple[str, str]] = set()

    def refusal(self, role_arn: str, external_id: str | None) -> str | None:
        """Why AWS would refuse this AssumeRole (for the simulator's log), or None when it is allowed."""
        match = _ROLE_ARN.match(role_arn or "")
        if match is None:
            return "not a role ARN"
        account_id, role = match.groups()
        with self.lock:
            spec = self.accounts.get(account_id)
            if spec is None or role not in spec.roles:
                return "no such role"
            if {"*", role} & spec.denied_roles or {(account_id, "*"), (account_id, role)} & self.denied:
                return "the role's trust policy refuses the caller"
            if spec.external_id is not None and external_id != spec.external_id:
                return "the trust policy requires another sts:ExternalId"
        return None

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {
                "caller_account": self.main_account,
                "accounts": {
                    account_id: {"alias": spec.alias, "roles": list(spec.roles),
                                 "denied": sorted(set(spec.denied_roles)
                                                  | {r for a, r in self.denied if a == account_id}),
                                 "external_id_required": spec.external_id is not None,
                                 "regions": list(spec.region_defaults)}
                    for account_id, spec in self.accounts.items()
                },
            }


ACCOUNTS = _Accounts()


class AccessDenied(ServiceException):
    code = "AccessDenied"


def _assume_role(self: TokenResponse) -> Any:
    role_arn = self.params.get("RoleArn") or ""
    reason = ACCOUNTS.refusal(role_arn, self.params.get("ExternalId"))
    if reason is None:
        return _ORIGINAL["assume_role"](self)
    _user_id, caller_arn, _account = self.backend.get_caller_identity(self.get_access_key(), self.region)
    error = AccessDenied(f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
    # STS's service model has no AccessDenied shape, so moto would answer 400 (and warn); AWS answers 403.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _status, headers, body = self.serialized(ActionResult(error))
    headers["status"] = 403
    return body, headers


_ORIGINAL: dict[str, Any] = {}

# Organizations is a global service served from us-east-1 (AWS Organizations User Guide, "Endpoints").
ORGANIZATIONS_REGION = "us-east-1"


def _list_accounts(self: OrganizationsResponse) -> Any:
    account = self.current_account
    if organizations_backends[account][self.partition].org is None:
        if account in organizations_backends.master_accounts:
            raise OrganizationsClientError("AccessDeniedException", "You don't have permissions to access this resource.")
        raise AWSOrganizationsNotInUseException()
    return _ORIGINAL["list_accounts"](self)


def install() -> None:
    """Graft the AssumeRole checks onto moto's STS, and ListAccounts' caller check onto Organizations (idempotent)."""
    if "assume_role" not in _ORIGINAL:
        _ORIGINAL["assume_role"] = TokenResponse.assume_role
        TokenResponse.assume_role = _assume_role
    if "list_accounts" not in _ORIGINAL:
        _ORIGINAL["list_accounts"] = OrganizationsResponse.list_accounts
        OrganizationsResponse.list_accounts = _list_accounts


def seed_organization(fleet: Fleet) -> None:
    """moto's Organizations backend holding the fleet's organization (after moto's backends were reset)."""
    # moto's reset leaves the member -> management map: emptied, the simulator makes every organization.
    organizations_backends.master_accounts.clear()
    spec = fleet.organization
    if spec is None:
        return
    backend = organizations_backends[spec.management]["aws"]
    backend.create_organization(region=ORGANIZATIONS_REGION, FeatureSet="ALL")
    backend.accounts[0].name = spec.names[spec.management]
    for account_id in spec.members:
        backend.create_account(AccountName=spec.names[account_id], Email=f"aws+{account_id}@example.com")
        account = backend.accounts[-1]
        # moto drew a random ID (and made an IAM backend for it): the member gets the fleet's account ID.
        organizations_backends.master_accounts.pop(account.id, None)
        iam_backends.pop(account.id, None)
        account.id = account_id
        organizations_backends.master_accounts[account_id] = (spec.management, "aws")
        if account_id in spec.suspended:
            account.status = "SUSPENDED"


def seed(fleet: Fleet) -> None:
    """Take the fleet's accounts (after moto's backends were reset): roles, denials, aliases."""
    install()
    with ACCOUNTS.lock:
        ACCOUNTS.main_account = fleet.account_id
        ACCOUNTS.accounts = dict(fleet.accounts)
        ACCOUNTS.denied = set()
    for spec in fleet.accounts.values():
        if spec.alias:
            iam_backends[spec.account_id]["aws"].create_account_alias(spec.alias)
    seed_organization(fleet)


def deny(body: dict[str, Any]) -> dict[str, Any]:
    """POST /_sim/accounts/deny {"account": "...", "role": "name" (default: every role)}."""
    account = str(body["account"])
    role = str(body.get("role") or "*")
    with ACCOUNTS.lock:
        if account not in ACCOUNTS.accounts:
            raise ValueError(f"account {account} is not part of the fleet")
        ACCOUNTS.denied.add((account, role))
    return ACCOUNTS.describe()


def allow_all(_body: dict[str, Any]) -> dict[str, Any]:
    """DELETE /_sim/accounts/deny: back to the fleet's own denials."""
    with ACCOUNTS.lock:
        ACCOUNTS.denied.clear()
    return ACCOUNTS.describe()


def request_account(environ: dict[str, Any]) -> str:
    """The account a request lands in: the account whose IAM backend holds its access key (an assumed role's),
    else the fleet's caller account (moto alone: its default account 123456789012)."""
    match = _ACCESS_KEY.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is not None:
        key = match.group(1)
        for account_id, partitions in list(iam_backends.items()):
            if key in partitions["aws"].access_keys:
                return account_id
    return ACCOUNTS.main_account
