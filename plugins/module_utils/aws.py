# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""AWS plumbing shared by the rdsca.rotation modules.

Everything here is about *talking* to AWS across many regions, not about
certificates:

* :func:`validate_regions` checks region names before any call is made.
* :class:`RegionClients` builds one boto3 client per
  region from a single boto3 session, honouring every standard amazon.aws
  connection option (profile, keys, session token, ``endpoint_url``,
  ``aws_ca_bundle``, ``validate_certs``, ``aws_config``). One session means the
  service model is loaded and the credentials resolved (for example an
  AssumeRole profile) once, not once per region. Another account's session
  (an assumed role) is added with ``add_account``; its clients are asked for
  with ``account=`` (module_utils.rds_api.Scope does that for the callers).
* :class:`CallCounter` counts every HTTP request each client sends (retries
  included), per region and operation, for the ``api_calls`` return value.
* :func:`paginate` walks ``Marker`` pagination, retrying each page with the
  client's amazon.aws ``AWSRetry`` decorator (a retry never re-reads pages).
* :func:`error_info` turns a botocore exception into ``{error_code, message}``.

Thread model: clients are created in the main thread (boto3 sessions are not
thread-safe), then used from worker threads (boto3 clients are).
"""

from __future__ import annotations

import difflib
import functools
import re
import threading
from typing import Any, Callable, Iterable, Optional, Sequence

try:
    import boto3
    import botocore
    import botocore.config
    import botocore.loaders
    from botocore.exceptions import BotoCoreError
    from botocore.exceptions import ClientError

    HAS_BOTO3 = True
except ImportError:
    HAS_BOTO3 = False

    class BotoCoreError(Exception):  # type: ignore[no-redef]
        """Placeholder so that ``except (ClientError, BotoCoreError)`` stays valid without botocore."""

    class ClientError(Exception):  # type: ignore[no-redef]
        """Placeholder so that ``except (ClientError, BotoCoreError)`` stays valid without botocore."""


from ansible_collections.amazon.aws.plugins.module_utils.botocore import get_aws_connection_info
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper

# Re-exported: region names and the time helpers live in rds_domain.
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import REGION_PATTERN
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import scope_label
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import utcnow  # noqa: F401 pylint: disable=unused-import

COLLECTION_USER_AGENT = "rdsca.rotation"


# Throttling and transient error codes retried on top of amazon.aws's own list
# (RequestLimitExceeded, Throttling, InternalFailure, ServiceUnavailable, ...).
EXTRA_RETRY_CODES = ["ThrottlingException", "RequestThrottled", "RequestThrottledException",
                     "TooManyRequestsException", "PriorRequestNotComplete"]
RETRY_DEFAULTS = {"retries": 10, "delay": 1, "backoff": 2.0, "max_delay": 30}
# Answers that say the request was refused unprocessed: the only ones a call that changes something retries
# blindly (see ThrottlingOnlyRetry).
THROTTLING_CODES = ("RequestLimitExceeded", "Throttling", "TooManyRequestsException") + tuple(EXTRA_RETRY_CODES)
PAGE_SIZE = 100
# Connection keyword arguments that carry the module's own credentials.
CREDENTIAL_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
MAX_POOL = 25


class ThrottlingOnlyRetry(AWSRetry):
    """amazon.aws's backoff for calls that change something: only throttling is retried.

    A throttled request was refused before it was processed, so sending it again is safe. A server
    error (HTTP 5xx) or a lost response (read timeout, connection closed) may come after the change
    was made: the caller must look at the resource before sending it again (see
    :meth:`RegionClients.get` with ``single_attempt``).
    """

    @staticmethod
    def found(response_code: Any, catch_extra_error_codes: Optional[Sequence[str]] = None) -> bool:
        return response_code in THROTTLING_CODES


def retry_decorator(retries: Optional[int] = None, delay: Optional[float] = None, backoff: Optional[float] = None,
                    max_delay: Optional[float] = None, extra_codes: Optional[Sequence[str]] = None,
                    retry_class: Any = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """amazon.aws's jittered backoff, with this collection's defaults and throttling codes.

    Every call gets its own backoff: amazon.aws keeps the current delay in the one
    ``BackoffIterator`` a ``jittered_backoff`` decorator holds, so calls sharing a decorator
    (the threads of a module) would restart each other's backoff at 1 s whenever a call
    starts, and lengthen it whenever another call retries.
    """
    settings = dict(
        retries=RETRY_DEFAULTS["retries"] if retries is None else retries,
        delay=RETRY_DEFAULTS["delay"] if delay is None else delay,
        backoff=RETRY_DEFAULTS["backoff"] if backoff is None else backoff,
        max_delay=RETRY_DEFAULTS["max_delay"] if max_delay is None else max_delay,
        catch_extra_error_codes=EXTRA_RETRY_CODES + list(extra_codes or []),
    )

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def retrying(*args: Any, **kwargs: Any) -> Any:
            return (retry_class or AWSRetry).jittered_backoff(**settings)(func)(*args, **kwargs)
        return retrying
    return decorate


_PARTITIONS: list[dict[str, Any]] = []


def partitions() -> list[dict[str, Any]]:
    """botocore's partition data (``partitions.json``): id, regionRegex and known regions; loaded once, no API call."""
    if not _PARTITIONS and HAS_BOTO3:
        try:
            data = botocore.loaders.create_loader().load_data("partitions")
            _PARTITIONS.extend(data.get("partitions") or [])
        except Exception:  # pylint: disable=broad-exception-caught
            # Older botocore without partitions.json: fall back to the per-service region lists.
            session = boto3.session.Session()
            for name in session.get_available_partitions():
                regions = session.get_available_regions("ec2", partition_name=name)
                _PARTITIONS.append({"id": name, "regionRegex": None, "regions": dict((r, {}) for r in regions)})
    return _PARTITIONS


def known_regions() -> set[str]:
    """Every region the installed botocore knows, across all partitions (no API call)."""
    names: set[str] = set()
    for partition in partitions():
        names.update(r for r in partition.get("regions") or {} if not r.endswith("-global"))
    return names


def partition_of(region: Optional[str]) -> Optional[str]:
    """The partition id (aws, aws-cn, aws-us-gov...) of a region name, by botocore's data; None if none fits."""
    for partition in partitions():
        if region in (partition.get("regions") or {}):
            return partition.get("id")
    for partition in partitions():
        regex = partition.get("regionRegex")
        if regex and re.match(regex, region or ""):
            return partition.get("id")
    return None


def validate_regions(regions: Iterable[Any], known: Optional[set[str]] = None) -> list[str]:
    """Problems with a list of region names, as human-readable strings (empty: all fine).

    ``known`` is the set of acceptable names (default: :func:`known_regions`); a name
    that looks like a region but is not known gets close matches suggested.
    """
    if known is None:
        known = known_regions()
    problems = []
    seen = set()
    for name in regions:
        if not isinstance(name, str) or not name:
            problems.append("region names must be non-empty strings, got %r" % (name,))
            continue
        if name in seen:  # duplicates are harmless: callers query each region once
            continue
        seen.add(name)
        if not REGION_PATTERN.match(name):
            problems.append("%r is not an AWS region name (expected something like us-east-1 or eu-west-2)" % name)
            continue
        if known and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=3)
            hint = " (did you mean %s?)" % " or ".join(close) if close else ""
            problems.append("%s is not a region known to botocore %s%s" % (
                name, getattr(botocore, "__version__", "?"), hint))
    return problems


class CallCounter:
    """Thread-safe count of the HTTP requests sent, keyed by region then operation.

    Attach it to a client with :meth:`attach`: every request botocore sends,
    including botocore's own retries and AWSRetry's, is counted once, so the
    numbers match what the service (or a simulator) saw.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}

    def attach(self, client: Any, region: str) -> Any:
        raw = client.client if isinstance(client, RetryingBotoClientWrapper) else client

        def count(event_name: Optional[str] = None, **_kwargs: Any) -> None:
            operation = (event_name or "").rsplit(".", 1)[-1] or "unknown"
            self.add(region, operation)

        raw.meta.events.register("before-send", count)
        return client

    def add(self, region: str, operation: str, n: int = 1) -> None:
        with self._lock:
            per_region = self._counts.setdefault(region, {})
            per_region[operation] = per_region.get(operation, 0) + n

    def snapshot(self) -> dict[str, dict[str, int]]:
        """``{region: {operation: n}}``, a copy."""
        with self._lock:
            return dict((region, dict(ops)) for region, ops in self._counts.items())

    def total(self) -> int:
        with self._lock:
            return sum(sum(ops.values()) for ops in self._counts.values())


class RegionClients:
    """boto3 clients for several regions, from one session, with retries and call counting.

    Build it in the main thread; ``get(service, region)`` may then be called
    from any thread once :meth:`prepare` created the clients it will need.
    """

    def __init__(self, module: Any, counter: Optional[CallCounter] = None,
                 retry: Optional[Callable[[Callable[..., Any]], Callable[..., Any]]] = None) -> None:
        self.module = module
        self.counter = counter if counter is not None else CallCounter()
        self.retry = retry if retry is not None else retry_decorator()
        self._session: Any = None
        self._config: Any = None
        self._kwargs: dict[str, Any] = {}
        self._endpoint_url: Optional[str] = None
        self._clients: dict[tuple[str, str, bool, Optional[str]], Any] = {}
        self._lock = threading.Lock()
        self.default_region = None
        # Sessions of other accounts (issue #17: assumed roles), by account; None is the module's own.
        self._account_sessions: dict[str, Any] = {}

    def _connection(self) -> Any:
        if self._session is None:
            region, endpoint_url, kwargs = get_aws_connection_info(self.module)
            kwargs = dict(kwargs)
            profile = kwargs.pop("profile_name", None)
            # A region's calls run in parallel (describes, engine lookups): more than botocore's 10
            # pooled connections per client would be opened and discarded with a warning.
            config = botocore.config.Config(user_agent_extra=COLLECTION_USER_AGENT, max_pool_connections=MAX_POOL)
            user_config = kwargs.pop("aws_config", None)
            if user_config is not None:
                config = config.merge(user_config)
            self._session = boto3.session.Session(profile_name=profile or None)
            if kwargs.get("verify") is False:
                warn(self.module, "validate_certs=false: the TLS certificates of the AWS API endpoints are NOT "
                                  "verified, so anyone on the network path can impersonate AWS and read the signed "
                                  "requests. Use it only against a test endpoint; for a private CA set aws_ca_bundle.")
            self._config = config
            self._kwargs = kwargs
            self._endpoint_url = endpoint_url
            self.default_region = region
        return self._session

    def add_account(self, account: str, session: Any) -> None:
        """Use ``session`` (a boto3 session, e.g. from an assumed role) for the clients of ``account``.

        Call it in the main thread before :meth:`get` with that account. The endpoint, TLS and
        botocore settings of the module's connection options apply to it too.
        """
        with self._lock:
            self._connection()
            self._account_sessions[account] = session

    def prepare(self, service: str, regions: Iterable[str], single_attempt: bool = False,
                account: Optional[str] = None) -> None:
        """Create (main thread) the clients for ``service`` in every region; fails the module on error."""
        extra: dict[str, Any] = {} if account is None else {"account": account}
        for region in regions:
            self.get(service, region, **extra)
            if single_attempt:
                self.get(service, region, single_attempt=True, **extra)

    def get(self, service: str, region: str, single_attempt: bool = False, account: Optional[str] = None) -> Any:
        """The client for ``service`` in ``region`` (of ``account``: None is the module's credentials).

        ``single_attempt``: for calls that change something - botocore sends each request once (its
        own retries of timeouts and 5xx answers are off) and ``aws_retry=True`` retries throttling
        only (:class:`ThrottlingOnlyRetry`); any other error reaches the caller, which must find out
        from the service whether the change was made before sending it again.

        Requests are counted under ``region``, or ``account/region`` for another account.
        """
        key = (service, region, bool(single_attempt), account)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                try:
                    session = self._connection()
                    if account is not None:
                        if account not in self._account_sessions:
                            raise ValueError("no session for account %s (RegionClients.add_account)" % account)
                        session = self._account_sessions[account]
                    config = self._config
                    if single_attempt:
                        config = config.merge(botocore.config.Config(retries={"total_max_attempts": 1}))
                    kwargs = self._kwargs
                    if account is not None:  # the account's session brings its own credentials
                        kwargs = dict((k, v) for k, v in kwargs.items() if k not in CREDENTIAL_KEYS)
                    raw = session.client(service, region_name=region, endpoint_url=self._endpoint_url,
                                         config=config, **kwargs)
                except (BotoCoreError, ValueError) as e:  # pylint: disable=catching-non-exception
                    self.module.fail_json_aws(e, msg="Couldn't create the %s client for %s" % (service, region))
                self.counter.attach(raw, scope_label(region, account))
                retry = retry_decorator(retry_class=ThrottlingOnlyRetry) if single_attempt else self.retry
                client = self._clients[key] = RetryingBotoClientWrapper(raw, retry)
            return client

    @property
    def endpoint_url(self) -> Optional[str]:
        self._connection()
        return self._endpoint_url


def paginate(client: Any, method: str, result_key: str, token: str = "Marker", page_size: Optional[int] = PAGE_SIZE,
             **params: Any) -> tuple[list[Any], dict[str, Any]]:
    """All items of a ``Marker``-paginated describe call, retrying each page (not the whole walk).

    Returns ``(items, first_page)``; the first page carries the response's
    non-list fields (for example DescribeCertificates' DefaultCertificateForNewLaunches).
    """
    call = getattr(client, method)
    if page_size:
        params["MaxRecords"] = page_size
    items: list[Any] = []
    first: Optional[dict[str, Any]] = None
    while True:
        if isinstance(client, RetryingBotoClientWrapper):
            page = call(aws_retry=True, **params)
        else:
            page = call(**params)
        if first is None:
            first = page
        items.extend(page.get(result_key) or [])
        marker = page.get(token)
        if not marker or marker == params.get(token):
            return items, first
        params[token] = marker


def call(client: Any, method: str, **params: Any) -> dict[str, Any]:
    """One API call, retried on throttling when ``client`` is a retrying wrapper (see :class:`RegionClients`)."""
    if isinstance(client, RetryingBotoClientWrapper):
        return getattr(client, method)(aws_retry=True, **params)
    return getattr(client, method)(**params)


def outcome_unknown(exc: BaseException) -> bool:
    """Whether a failed call may still have been processed: a server error (HTTP 5xx) or no answer at all
    (read timeout, connection closed...). A client error (4xx: refused, throttled, invalid) was not."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return isinstance(status, int) and status >= 500
    return True


def error_info(exc: BaseException) -> dict[str, str]:
    """``{"error_code": ..., "message": ...}`` for a botocore exception (or any exception)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        error = response["Error"]
        return {"error_code": error.get("Code") or type(exc).__name__,
                "message": error.get("Message") or str(exc)}
    return {"error_code": type(exc).__name__, "message": str(exc)}


AWS_ERRORS = (ClientError, BotoCoreError)


ALL_REGIONS = "all"


def check_regions_option(regions: Optional[list[str]], known: Optional[set[str]] = None) -> list[str]:
    """Problems with a ``regions`` option value: a list of region names, or ``[all]`` alone."""
    if regions is None:
        return []
    if not regions:
        return ["regions must name at least one region, or be 'all'"]
    if ALL_REGIONS in regions:
        if len(regions) > 1:
            return ["regions: 'all' cannot be combined with region names (got %s)" % ", ".join(regions)]
        return []
    return validate_regions(regions, known)


def enabled_regions(clients: RegionClients, calling_region: str) -> list[str]:
    """The account's enabled regions, from one ec2:DescribeRegions in ``calling_region``.

    Regions the account has not opted in to are dropped (AWS omits them
    already; some emulators do not), and so are regions of another partition
    than the calling region's (their endpoints reject these credentials).
    """
    ec2 = clients.get("ec2", calling_region)
    response = ec2.describe_regions(AllRegions=False, aws_retry=True)
    partition = partition_of(calling_region)
    names = []
    for item in response.get("Regions") or []:
        name = item.get("RegionName")
        if not name or item.get("OptInStatus") == "not-opted-in":
            continue
        if partition and partition_of(name) not in (None, partition):
            continue
        names.append(name)
    return sorted(set(names))


def resolve_regions(module: Any, clients: RegionClients, regions: Optional[list[str]]) -> list[str]:
    """The regions to query: the ``regions`` option, ``all`` (DescribeRegions), or the connection region.

    Fails the module (before any call for bad names) with a clear message.
    """
    problems = check_regions_option(regions)
    if problems:
        module.fail_json(msg="Invalid regions: %s" % "; ".join(problems))
    calling_region = module.region
    if not regions:
        if not calling_region:
            module.fail_json(msg="Set regions (a list, or 'all') or the connection region (region, AWS_REGION)")
        problems = validate_regions([calling_region])
        if problems:
            module.fail_json(msg="Invalid region: %s" % "; ".join(problems))
        return [calling_region]
    if regions == [ALL_REGIONS]:
        calling_region = calling_region or "us-east-1"
        try:
            return enabled_regions(clients, calling_region)
        except AWS_ERRORS as e:  # pylint: disable=catching-non-exception
            module.fail_json_aws(e, msg="Couldn't list the account's regions (ec2:DescribeRegions in %s)" % calling_region,
                                 api_calls=clients.counter.snapshot())
    return list(dict.fromkeys(regions))


def regions_argument_spec() -> dict[str, dict[str, Any]]:
    """Argument spec of the rdsca.rotation.regions doc fragment (regions, strict, concurrency)."""
    return dict(
        regions=dict(type="list", elements="str"),
        strict=dict(type="bool", default=False),
        concurrency=dict(type="int", default=64),
    )


def warn(module: Any, message: str) -> None:
    """Warn without the deprecation notice ansible-core 2.19 prints for the ``warnings`` amazon.aws injects.

    AnsibleAWSModule.warn collects warnings and passes them to exit_json, which
    ansible-core 2.19 deprecates; the inner AnsibleModule's own warn() does not.
    """
    inner = getattr(module, "_module", None)
    (inner if inner is not None else module).warn(message)
