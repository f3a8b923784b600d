"""WSGI layer in front of moto: API call accounting, fault/latency injection, control API.

Fault rules (POST /_sim/faults with {"rules": [...]}, DELETE to clear)::

    {"operation": "DescribeDBInstances" | "*", "region": "eu-west-1" | "*", "account": "222222222222" | "*",
     "error": "Throttling" | "RequestLimitExceeded" | "InternalFailure" | "ServiceUnavailable" | "AccessDenied",
     "rate": 0.5,          # share of matching calls that fail (default 1.0)
     "count": 3,           # fail at most this many calls, then stop (default unlimited)
     "latency_ms": 50,     # added to every matching call (with or without an error)
     "response_delay_ms": 3000}  # the call is SERVED (the change is made), then its response is held back

Rules are checked in order; every matching rule's latency applies, the first
rule whose error fires decides the error. Randomness is seeded (``seed``) so a
run can be repeated.

``response_delay_ms`` (a rule without ``error``; ``rate`` and ``count`` limit which calls it
hits) models a response lost on the way back: the service processed the request (the change is
made), but the client gives up waiting (its read timeout) and sees a ReadTimeoutError instead of
the answer. The AWS SDKs count socket and read timeouts among the transient errors they retry
(AWS SDKs and Tools Reference Guide, "Retry behavior"), so the retry of a ModifyDBInstance whose
response was lost reaches an instance that is already modifying (InvalidDBInstanceState, as the
RDS API Reference documents for ModifyDBInstance) or already changed.
"""

from __future__ import annotations

import io
import json
import random
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qs

_CREDENTIAL = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")

ERRORS = {
    "Throttling": (400, "Rate exceeded"),
    "ThrottlingException": (400, "Rate exceeded"),
    "RequestLimitExceeded": (400, "Request limit exceeded."),
    "InternalFailure": (500, "An internal error has occurred. Try again."),
    "ServiceUnavailable": (503, "Service is unavailable. Try again later."),
    "AccessDenied": (403, "User is not authorized to perform this action (injected fault)."),
}


@dataclass
class FaultRule:
    operation: str = "*"
    region: str = "*"
    service: str = "*"
    # The account the call lands in (the caller's, or an assumed role's): throttling one account of an estate.
    account: str = "*"
    error: str | None = None
    rate: float = 1.0
    count: int | None = None
    latency_ms: float = 0.0
    response_delay_ms: float = 0.0
    fired: int = 0

    def matches(self, service: str, region: str, operation: str, account: str = "*") -> bool:
        return (self.operation in ("*", operation) and self.region in ("*", region)
                and self.service in ("*", service) and self.account in ("*", account))


class CallLog:
    """Counts every API call the simulator serves, per (service, region, operation)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.errors: Counter[tuple[str, str, str]] = Counter()
        self.accounts: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0

    def record(self, service: str, region: str, operation: str, status: int, account: str | None = None) -> None:
        with self._lock:
            self.counts[(service, region, operation)] += 1
            if account:
                self.accounts[account] += 1
            if status >= 400:
                self.errors[(service, region, operation)] += 1

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.errors.clear()
            self.accounts.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            by_region: dict[str, dict[str, int]] = {}
            for (service, region, operation), n in self.counts.items():
                by_region.setdefault(region, {})[f"{service}:{operation}"] = n
            errors = {f"{s}:{r}:{o}": n for (s, r, o), n in self.errors.items()}
            return {"total": sum(self.counts.values()), "by_region": by_region, "errors": errors,
                    "by_account": dict(self.accounts)}


class ControlMiddleware:
    """Wraps moto's WSGI app; `handlers` serve the /_sim/ control paths."""

    def __init__(self, app: Callable, handlers: dict[tuple[str, str], Callable[[dict[str, Any]], Any]]) -> None:
        self.app = app
        self.handlers = handlers
        self.calls = CallLog()
        self._rules: list[FaultRule] = []
        self._rules_lock = threading.Lock()
        self._random = random.Random(0)
        # environ -> the account the request lands in (accounts.request_account); None: moto decides alone.
        self.request_account: Callable[[dict[str, Any]], str] | None = None

    # -- faults -----------------------------------------------------------
    def set_faults(self, body: dict[str, Any]) -> dict[str, Any]:
        rules = []
        for raw in body.get("rules", []):
            unknown = set(raw) - {"operation", "region", "service", "account", "error", "rate", "count", "latency_ms",
                                  "response_delay_ms"}
            if unknown:
                raise ValueError(f"unknown fault rule key(s): {sorted(unknown)}")
            if raw.get("error") is not None and raw["error"] not in ERRORS:
                raise ValueError(f"unknown error {raw['error']!r}; one of {sorted(ERRORS)}")
            if raw.get("error") is not None and raw.get("response_delay_ms"):
                raise ValueError("a rule has either error (the call is refused) or response_delay_ms (the call is "
                                 "served, its response held back), not both")
            rules.append(FaultRule(**raw))
        with self._rules_lock:
            self._rules = rules
            self._random = random.Random(body.get("seed", 0))
        return {"rules": len(rules)}

    def clear_faults(self, _body: dict[str, Any]) -> dict[str, Any]:
        with self._rules_lock:
            self._rules = []
        return {"rules": 0}

    def _decide(self, service: str, region: str, operation: str, account: str = "*") -> tuple[float, str | None, float]:
        latency = 0.0
        error = None
        response_delay = 0.0
        with self._rules_lock:
            for rule in self._rules:
                if not rule.matches(service, region, operation, account):
                    continue
                latency += rule.latency_ms
                if error is None and rule.error and (rule.count is None or rule.fired < rule.count):
                    if self._random.random() < rule.rate:
                        rule.fired += 1
                        error = rule.error
                elif rule.response_delay_ms and (rule.count is None or rule.fired < rule.count):
                    if self._random.random() < rule.rate:
                        rule.fired += 1
                        response_delay = max(response_delay, rule.response_delay_ms)
        return latency / 1000.0, error, response_delay / 1000.0

    # -- WSGI ---------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_sim/"):
            return self._control(environ, start_response, path)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        service, region = "unknown", "us-east-1"
        match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
        if match:
            region, service = match.group(1), match.group(2)
        operation = _action(environ, body)
        account = self.request_account(environ) if self.request_account else None
        if account:
            # moto's own way to name the account of a request (BaseResponse.get_current_account).
            environ["HTTP_X_MOTO_ACCOUNT_ID"] = account
        latency, error, response_delay = self._decide(service, region, operation, account or "*")
        if latency:
            time.sleep(latency)
        status_holder: dict[str, int] = {}

        def recording_start(status: str, headers: list, exc_info: Any = None) -> Any:
            status_holder["code"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        if error is not None:
            self.calls.record(service, region, operation, ERRORS[error][0], account)
            return _error_response(start_response, service, error, json_protocol=bool(environ.get("HTTP_X_AMZ_TARGET")))
        result = self.app(environ, recording_start)
        self.calls.record(service, region, operation, status_holder.get("code", 200), account)
        if response_delay:
            # Served (the change is made); the answer leaves only after the client stopped waiting for it.
            body = b"".join(result)
            if hasattr(result, "close"):
                result.close()
            time.sleep(response_delay)
            return [body]
        return result

    def _control(self, environ: dict[str, Any], start_response: Callable, path: str) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        handler = self.handlers.get((method, path))
        if handler is None:
            return _json(start_response, 404, {"error": f"no control endpoint {method} {path}",
                                               "endpoints": sorted(f"{m} {p}" for m, p in self.handlers)})
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
            return _json(start_response, 200, handler(body))
        except (ValueError, KeyError, TypeError) as exc:
            return _json(start_response, 400, {"error": str(exc)})


def _action(environ: dict[str, Any], body: bytes) -> str:
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    if body and b"Action=" in body:
        form = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.split(".")[-1]
    return environ.get("PATH_INFO", "/")


def _json(start_response: Callable, status: int, payload: Any) -> list[bytes]:
    data = json.dumps(payload, default=str).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "OK")
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


# The same faults as the JSON-protocol services (CloudWatch Logs) name them (CloudWatch Logs API Reference,
# "Common Errors": ThrottlingException, AccessDeniedException...).
JSON_CODES = {"Throttling": "ThrottlingException", "RequestLimitExceeded": "ThrottlingException",
              "AccessDenied": "AccessDeniedException", "InternalFailure": "InternalFailure",
              "ServiceUnavailable": "ServiceUnavailableException"}


def _error_response(start_response: Callable, service: str, code: str, json_protocol: bool = False) -> list[bytes]:
    status, message = ERRORS[code]
    request_id = str(uuid.uuid4())
    if json_protocol:
        # awsJson 1.1 errors: {"__type", "message"} (botocore reads the code from __type).
        json_code = JSON_CODES.get(code, code)
        data = json.dumps({"__type": json_code, "message": message}).encode()
        reason = {400: "Bad Request", 403: "Forbidden", 500: "Internal Server Error", 503: "Service Unavailable"}[status]
        start_response(f"{status} {reason}", [("Content-Type", "application/x-amz-json-1.1"),
                                              ("Content-Length", str(len(data))), ("x-amzn-RequestId", request_id),
                                              ("x-amzn-ErrorType", json_code)])
        return [data]
    if service == "ec2":
        xml = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
               f"<RequestID>{request_id}</RequestID></Response>")
    else:
        kind = "Receiver" if status >= 500 else "Sender"
        xml = (f'<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>{kind}</Type>'
               f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
               "</ErrorResponse>")
    data = xml.encode()
    reason = {400: "Bad Request", 403: "Forbidden", 500: "Internal Server Error", 503: "Service Unavailable"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "text/xml"), ("Content-Length", str(len(data))),
                                          ("x-amzn-RequestId", request_id)])
    return [data]
