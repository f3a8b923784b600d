# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Carrying out a rotation plan: bounded concurrency, batched polling, verification, rollback.

No AWS here either: the runner talks to an ``api`` object (``rotation_aws.RdsApi``
in the module, a fake in the unit tests) with three methods:

``describe(region, instance_ids)``
    ``{instance id: DescribeDBInstances item}`` - one batched call per region per poll.
``call(call)``
    Sends the modification a plan holds (``modify_instance``, ``modify_cluster``,
    ``apply_pending_action``) and returns the response item.
``probe(unit, endpoint)``
    TLS probe of one endpoint: ``{issuer, ca_id, verified, error}`` (run in worker threads).

Errors are :class:`ApiError`. The main thread drives a small state machine per
unit; only the probes run in threads.

Per unit: queued -> (waiting for available) -> applying -> (verifying) -> done,
with rolling_back after a failed verification when asked. At most
``max_concurrent`` units are past "queued" and not done at any time.
"""

from __future__ import annotations

import time
from concurrent.futures import Executor
from typing import Any, Callable, Iterable, Optional, Protocol

from ansible_collections.rdsca.rotation.plugins.module_utils import rotation as plan_lib
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import now_iso
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import operation_name

QUEUED = "queued"
READY_WAIT = "waiting_for_available"
APPLYING = "applying"
VERIFYING = "verifying"
ROLLING_BACK = "rolling_back"
DONE = "done"
POLLED_PHASES = (READY_WAIT, APPLYING, ROLLING_BACK)

STATE_ERRORS = ("InvalidDBInstanceState", "InvalidDBInstanceStateFault", "InvalidDBClusterStateFault",
                "InvalidDBClusterState")
MAX_STATE_RETRIES = 5


class ApiError(Exception):
    """An AWS call that failed (after retries): error code, message and operation."""

    def __init__(self, code: str, message: str, operation: Optional[str] = None, ambiguous: bool = False) -> None:
        super(ApiError, self).__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.operation = operation
        # A change whose outcome is unknown (no answer, or a server error): it may have been made.
        self.ambiguous = ambiguous

    def as_dict(self) -> dict[str, Any]:
        return {"error_code": self.code, "message": self.message, "operation": self.operation}


class Job:
    """One unit being worked on."""

    def __init__(self, unit: dict[str, Any], plan: dict[str, Any]) -> None:
        self.unit = unit
        self.plan = plan
        self.phase = QUEUED
        self.deadline: Optional[float] = None
        self.started: Optional[float] = None
        self.started_at: Optional[str] = None
        self.attempts = 0
        self.changed = False
        self.statuses: list[str] = []
        self.verify_deadline: Optional[float] = None
        self.next_probe_at: Optional[float] = None
        self.futures: list[Any] = []
        self.probes: list[dict[str, Any]] = []
        # A failed verification is confirmed by a second probe round: a probe's verified handshake and
        # its diagnostic read can straddle the server's certificate swap.
        self.unconfirmed_failure = False
        self.verification: Optional[dict[str, Any]] = None
        self.rollback: Optional[dict[str, Any]] = None
        self.last_seen: dict[str, dict[str, Any]] = {}
        self.response: Optional[dict[str, Any]] = None
        self.result: Optional[dict[str, Any]] = None
        # The error of a change whose outcome is unknown, until a describe shows whether RDS took it.
        self.uncertain: Optional[ApiError] = None
        self.notes: list[str] = []

    @property
    def key(self) -> str:
        return self.unit["key"]

    def saw(self, status: Optional[str]) -> None:
        if status and (not self.statuses or self.statuses[-1] != status):
            self.statuses.append(status)


class Api(Protocol):
    """What the runner needs from AWS: rotation_aws.RdsApi (through the AWS adapter), or a fake in tests."""

    def describe(self, region: str, instance_ids: list[str]) -> dict[str, dict[str, Any]]:
        ...

    def call(self, call: dict[str, Any]) -> dict[str, Any]:
        ...

    def probe(self, unit: dict[str, Any], endpoint: dict[str, Any]) -> dict[str, Any]:
        ...


class Runner:
    """Drive the jobs of a plan to their final status (see the module docstring)."""

    def __init__(self, api: Api, jobs: Iterable[Job], options: dict[str, Any], clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Any] = time.sleep, executor: Optional[Executor] = None,
                 warn: Optional[Callable[[str], Any]] = None, poll_executor: Optional[Executor] = None) -> None:
        self.api = api
        self.jobs = list(jobs)
        self.by_key = dict((j.key, j) for j in self.jobs)
        self.opts = options
        self.clock = clock
        self.sleep = sleep
        self.executor = executor
        self.poll_executor = poll_executor
        self.warn = warn or (lambda msg: None)
        # Every unit is in the graph, whatever its plan: a reader that fails or is skipped blocks its writer.
        deps = plan_lib.dependencies([j.unit for j in self.jobs], options.get("order", "safe"))
        needs = dict((j.key, plan_lib.required_level(j.plan)) for j in self.jobs)
        self.scheduler = plan_lib.Scheduler([j.key for j in self.jobs], deps, options["max_concurrent"], needs)
        self.polls = 0
        self.describe_calls: dict[str, int] = {}
        self.poll_errors: list[dict[str, Any]] = []
        self.last_poll: Optional[float] = None
        self.last_poll_error: dict[str, str] = {}
        self.previewing = False
        self._warned_poll = False

    # -- main loop --------------------------------------------------------------------------
    def run(self) -> list[dict[str, Any]]:
        for job in self.jobs:
            if job.plan["action"] not in (plan_lib.ROTATE, plan_lib.SCHEDULE):
                self._finish(job, job.plan["status"], reason=job.plan.get("reason"))
        while not self.scheduler.idle:
            self._block()
            for key in self.scheduler.ready():
                self.scheduler.start(key)
                self._safely(self.by_key[key], self._begin)
            self._block()
            if self.scheduler.idle:
                break
            if not self.scheduler.in_flight and not self.scheduler.ready():
                # Cannot happen with the dependencies rotation.dependencies() builds (a DAG); never spin.
                for key in list(self.scheduler.queued):
                    self._finish(self.by_key[key], plan_lib.FAILED, reason="could not be ordered (dependency cycle)",
                                 error={"message": "dependency cycle"})
                break
            self._pause()
            self._poll()
            self._collect_probes()
            self._check_deadlines()
        return [j.result for j in self.jobs]

    def _block(self) -> None:
        """End ``blocked`` every queued unit that comes after one that did not get far enough (transitively)."""
        while True:
            blocked = self.scheduler.blocked()
            if not blocked:
                return
            for key, failed in blocked:
                blockers = [self.by_key[k].result for k in failed]
                self._finish(self.by_key[key], plan_lib.BLOCKED,
                             reason=plan_lib.blocked_reason(self.by_key[key].plan["target_ca"], [
                                 (r["label"], r["status"], r["reason"]) for r in blockers]),
                             blocked_by=[r["label"] for r in blockers])

    def preview(self) -> list[dict[str, Any]]:
        """Check mode: every job's predicted result, without any call (blocked ones included)."""
        self.previewing = True
        for job in self.jobs:
            if job.plan["action"] not in (plan_lib.ROTATE, plan_lib.SCHEDULE):
                self._finish(job, job.plan["status"], reason=job.plan.get("reason"))
        while not self.scheduler.idle:
            self._block()
            ready = self.scheduler.ready()
            if not ready:
                break
            for key in ready:
                job = self.by_key[key]
                self.scheduler.start(key)
                job.changed = True
                self._finish(job, job.plan["status"], reason=job.plan.get("reason"))
        for key in list(self.scheduler.queued):
            self._finish(self.by_key[key], plan_lib.FAILED, reason="could not be ordered (dependency cycle)",
                         error={"message": "dependency cycle"})
        return [j.result for j in self.jobs]

    def _in_flight(self, phases: Optional[Iterable[str]] = None) -> list[Job]:
        return [self.by_key[k] for k in sorted(self.scheduler.in_flight)
                if phases is None or self.by_key[k].phase in phases]

    def _pause(self) -> None:
        """Sleep until the next poll or probe is due, returning early when a running probe finishes."""
        now = self.clock()
        interval = self.opts["poll_interval"]
        wake = []
        if self._in_flight(POLLED_PHASES):
            wake.append(now + interval if self.last_poll is None else self.last_poll + interval)
        for job in self._in_flight((VERIFYING,)):
            if not job.futures and job.next_probe_at is not None:
                wake.append(job.next_probe_at)
        running = [f for j in self._in_flight((VERIFYING,)) for f in j.futures if not f.done()]
        if not wake and not running:
            return
        due = max(0.0, min(wake) - now) if wake else interval
        if running:
            from concurrent.futures import FIRST_COMPLETED, wait
            wait(running, timeout=due, return_when=FIRST_COMPLETED)
        elif due > 0:
            self.sleep(due)

    # -- starting -----------------------------------------------------------------------------
    def _begin(self, job: Job) -> None:
        job.started = self.clock()
        job.started_at = now_iso()
        job.deadline = job.started + self.opts["wait_timeout"]
        if plan_lib.status_category(job.unit.get("status")) == "wait":
            job.phase = READY_WAIT
            job.saw(job.unit.get("status"))
            return
        self._submit(job)

    def _submit(self, job: Job) -> None:
        call = job.plan["call"]
        job.attempts += 1
        try:
            response = self.api.call(call)
        except ApiError as e:
            if e.ambiguous:
                # Maybe made, maybe not: never sent again, nor judged, before a describe shows what RDS has.
                job.uncertain = e
                job.phase = READY_WAIT
                return
            if e.code in STATE_ERRORS and self.opts.get("wait", True) and job.attempts < MAX_STATE_RETRIES:
                job.phase = READY_WAIT
                return
            self._finish(job, plan_lib.FAILED, error=e.as_dict(),
                         reason="%s failed: %s" % (operation_name(call), e.message))
            return
        job.changed = True
        job.response = response or {}
        if job.plan["action"] == plan_lib.SCHEDULE:
            self._finish(job, plan_lib.SCHEDULED, reason=job.plan.get("reason"), response=response)
            return
        if not self.opts.get("wait", True):
            self._finish(job, plan_lib.ROTATED, reason="change submitted; not waited for (wait=false)",
                         response=response, confirmed=False)
            return
        job.phase = APPLYING
        job.deadline = self.clock() + self.opts["wait_timeout"]

    # -- polling ------------------------------------------------------------------------------
    def _poll(self) -> None:
        polled = self._in_flight(POLLED_PHASES)
        if not polled:
            return
        if self.last_poll is not None and self.clock() < self.last_poll + self.opts["poll_interval"] - 1e-6:
            return
        self.last_poll = self.clock()
        self.polls += 1
        by_region: dict[str, set[str]] = {}
        for job in polled:
            by_region.setdefault(_place(job.unit), set()).update(job.unit["members"])
        outcomes = self._describe_regions(by_region)
        for region in sorted(by_region):
            self.describe_calls[region] = self.describe_calls.get(region, 0) + 1
            described, e = outcomes[region]
            if e is not None:
                self.poll_errors.append(dict(region=region, **e.as_dict()))
                self.last_poll_error[region] = str(e)
                if not self._warned_poll:
                    self._warned_poll = True
                    self.warn("Polling %s failed (%s); retrying at the next poll until wait_timeout" % (region, e))
                continue
            self.last_poll_error.pop(region, None)
            for job in polled:
                if _place(job.unit) == region and job.phase in POLLED_PHASES:
                    self._safely(job, self._advance, described)

    def _describe_regions(self, by_region: dict[str, set[str]]) -> dict[str, tuple[Optional[dict], Optional[ApiError]]]:
        """One describe per region; regions in parallel when a poll executor is given (AWS round trips
        to distant regions would otherwise add up on every poll). Returns {region: (described, ApiError)}."""
        def describe(region: str) -> tuple[Optional[dict], Optional[ApiError]]:
            try:
                return self.api.describe(region, sorted(by_region[region])), None
            except ApiError as e:
                return None, e

        regions = sorted(by_region)
        if self.poll_executor is None or len(regions) < 2:
            return dict((region, describe(region)) for region in regions)
        futures = dict((region, self.poll_executor.submit(describe, region)) for region in regions)
        return dict((region, future.result()) for region, future in futures.items())

    def _advance(self, job: Job, described: dict[str, dict[str, Any]]) -> None:
        for ident in job.unit["members"]:
            if ident in described:
                job.saw(described[ident].get("DBInstanceStatus"))
                job.last_seen[ident] = described[ident]
        if job.phase == READY_WAIT:
            self._advance_ready(job, described)
        elif job.phase == APPLYING:
            verdict, detail = plan_lib.observe(job.unit, described, job.plan["target_ca"], immediate=True)
            if verdict == "done":
                if self.opts.get("verify"):
                    self._start_verify(job)
                else:
                    self._finish(job, plan_lib.ROTATED)
            elif verdict == "fail":
                self._finish(job, plan_lib.FAILED, reason=detail, error={"message": detail})
        elif job.phase == ROLLING_BACK:
            verdict, detail = plan_lib.observe(job.unit, described, job.plan["previous_ca"], immediate=True)
            if verdict == "done":
                job.rollback["completed"] = True
                self._finish(job, plan_lib.ROLLED_BACK, reason="verification failed (%s); rolled back to %s" % (
                    job.verification.get("message"), job.plan["previous_ca"]))
            elif verdict == "fail":
                job.rollback["error"] = detail
                self._finish(job, plan_lib.FAILED, reason="verification failed (%s) and the rollback failed: %s" % (
                    job.verification.get("message"), detail), error={"message": detail})
            elif job.uncertain is not None and self._rollback_not_taken(job, described):
                error = job.uncertain
                job.uncertain = None
                job.rollback["error"] = error.as_dict()
                reason = ("verification failed (%s); the rollback got no usable answer (%s: %s) and DescribeDBInstances "
                          "shows it was not taken: still on %s" % (
                              job.verification.get("message"), error.code, error.message, job.plan["target_ca"]))
                self._finish(job, plan_lib.FAILED, error=error.as_dict(), reason=reason)

    def _rollback_not_taken(self, job: Job, described: dict[str, dict[str, Any]]) -> bool:
        """After a rollback call whose answer was lost: every member available on the target, nothing pending."""
        for ident in job.unit["members"]:
            raw = described.get(ident) or {}
            pending = (raw.get("PendingModifiedValues") or {}).get("CACertificateIdentifier")
            if raw.get("DBInstanceStatus") != "available" or raw.get("CACertificateIdentifier") != job.plan["target_ca"] \
                    or pending == job.plan["previous_ca"]:
                return False
        return True

    def _advance_ready(self, job: Job, described: dict[str, dict[str, Any]]) -> None:
        statuses = []
        for ident in job.unit["members"]:
            raw = described.get(ident)
            if raw is None:
                self._finish(job, plan_lib.FAILED, reason="%s was not returned by DescribeDBInstances" % ident,
                             error={"message": "%s not found" % ident})
                return
            statuses.append(raw.get("DBInstanceStatus"))
        if job.uncertain is not None and self._decide_uncertain(job, described, statuses):
            return
        for status in statuses:
            category = plan_lib.status_category(status)
            if category == "skip" and not job.changed:
                self._finish(job, plan_lib.SKIPPED, reason=plan_lib.status_reason(status))
                return
            if category in ("fail", "skip"):
                self._finish(job, plan_lib.FAILED, reason=plan_lib.status_reason(status),
                             error={"message": plan_lib.status_reason(status)})
                return
        if all(s == "available" for s in statuses):
            if job.plan["action"] == plan_lib.ROTATE:
                verdict, _detail = plan_lib.observe(job.unit, described, job.plan["target_ca"], immediate=True)
                if verdict == "done" and job.attempts:
                    # An earlier attempt may have gone through (a retried request): nothing left to send then.
                    job.changed = True
                    job.phase = APPLYING
                    self._advance(job, described)
                    return
                if verdict == "done":
                    # Nothing sent yet, and it is already there: a change made before this run (for example by
                    # a run that was interrupted while this database was modifying) has completed. Sending it
                    # again would rotate it twice.
                    self._finish(job, plan_lib.UNCHANGED, reason="already on %s when it became available (%s): a "
                                 "change made before this run, for example by an interrupted run, completed while "
                                 "this run waited; nothing was sent" % (
                                     job.plan["target_ca"], ", then ".join(job.statuses)))
                    return
            self._submit(job)

    def _decide_uncertain(self, job: Job, described: dict[str, dict[str, Any]], statuses: list[Optional[str]]) -> bool:
        """After a change whose outcome is unknown: what RDS shows decides. True when the job moved on.

        The target CA applied, or pending, on every member: the change was accepted - it is not sent
        again, and the job goes on as if the answer had come. Nothing to show and every member
        available: it was not accepted - sent again (up to MAX_STATE_RETRIES attempts in all), or failed
        with the error. A member still busy (modifying, rebooting...): wait for the next poll.
        """
        error = job.uncertain
        target = job.plan["target_ca"]
        operation = error.operation or operation_name(job.plan["call"])
        cas = [described[i].get("CACertificateIdentifier") for i in job.unit["members"]]
        pending = [(described[i].get("PendingModifiedValues") or {}).get("CACertificateIdentifier")
                   for i in job.unit["members"]]
        applied = all(ca == target for ca in cas)
        if applied or all(p == target for p in pending):
            job.uncertain = None
            job.changed = True
            job.notes.append("%s got no usable answer (%s: %s: the response was lost or the service failed); "
                             "DescribeDBInstances then showed %s %s, so the change was accepted and not sent again" % (
                                 operation, error.code, error.message, target, "applied" if applied else "pending"))
            if job.plan["action"] == plan_lib.SCHEDULE and not applied:
                self._finish(job, plan_lib.SCHEDULED, reason=job.plan.get("reason"))
            elif not self.opts.get("wait", True):
                self._finish(job, plan_lib.ROTATED, reason="change accepted (seen in DescribeDBInstances after a lost "
                             "response); not waited for (wait=false)", confirmed=False)
            else:
                job.phase = APPLYING
                job.deadline = self.clock() + self.opts["wait_timeout"]
                self._advance(job, described)
            return True
        if any(plan_lib.status_category(s) in ("skip", "fail") for s in statuses):
            return False  # stopped, storage-full...: decided like any other status
        if not all(s == "available" for s in statuses):
            return True  # busy: whatever it is doing may still be our change; look again at the next poll
        job.uncertain = None
        if job.attempts >= MAX_STATE_RETRIES:
            self._finish(job, plan_lib.FAILED, error=error.as_dict(),
                         reason="%s failed: %s (and DescribeDBInstances shows no change to %s)" % (
                             operation, error.message, target))
            return True
        job.notes.append("%s got no usable answer (%s: %s); DescribeDBInstances then showed no change to %s, so it "
                         "was sent again" % (operation, error.code, error.message, target))
        self._submit(job)
        return True

    def _check_deadlines(self) -> None:
        now = self.clock()
        for job in self._in_flight(POLLED_PHASES):
            if job.deadline is not None and now >= job.deadline:
                seen = ", ".join("%s %s on %s" % (i, r.get("DBInstanceStatus"), r.get("CACertificateIdentifier"))
                                 for i, r in sorted(job.last_seen.items())) or "no status seen"
                what = {READY_WAIT: "to become available", APPLYING: "for the CA change",
                        ROLLING_BACK: "for the rollback"}[job.phase]
                message = "timed out after %ss waiting %s (%s)" % (self.opts["wait_timeout"], what, seen)
                region = _place(job.unit)
                if job.uncertain is not None:
                    message += "; whether %s (%s: %s) was accepted is still unknown: look at the database before " \
                               "sending the change again" % (job.uncertain.operation, job.uncertain.code,
                                                             job.uncertain.message)
                if region in self.last_poll_error:
                    message += "; the last poll of %s failed: %s" % (region, self.last_poll_error[region])
                if job.phase == ROLLING_BACK:
                    job.rollback["error"] = message
                    message = "verification failed (%s) and the rollback %s" % (job.verification.get("message"), message)
                self._finish(job, plan_lib.FAILED, reason=message, error={"message": message})

    # -- verification --------------------------------------------------------------------------
    def _start_verify(self, job: Job) -> None:
        if job.plan.get("restart_parameter") is False:
            job.verification = {"verified": None, "skipped": True,
                                "message": "not probed: with certificate_rotation_restart=false the endpoint presents "
                                           "the new certificate only after its next restart"}
            self._finish(job, plan_lib.ROTATED)
            return
        job.phase = VERIFYING
        job.verify_deadline = self.clock() + self.opts.get("verify_grace_period", 0)
        self._submit_probes(job)

    def _submit_probes(self, job: Job) -> None:
        job.next_probe_at = None
        job.futures = []
        endpoints = job.unit.get("endpoints") or []
        for ident in job.unit["members"]:
            raw = job.last_seen.get(ident)
            if raw is not None:
                endpoint = raw.get("Endpoint") or {}
                for item in endpoints:
                    if item["identifier"] == ident:
                        item["address"] = endpoint.get("Address") or item["address"]
                        item["port"] = endpoint.get("Port") or item["port"]
        for endpoint in endpoints:
            job.futures.append(self.executor.submit(self.api.probe, job.unit, endpoint))

    def _safely(self, job: Job, step: Callable[..., Any], *args: Any) -> None:
        """Run one job's step; an unexpected error fails that job only, with the error, never the others."""
        try:
            step(job, *args)
        except Exception as e:  # pylint: disable=broad-except
            self._finish(job, plan_lib.FAILED, reason="internal error while %s: %s: %s" % (
                job.phase, type(e).__name__, e), error={"message": "%s: %s" % (type(e).__name__, e)})

    def _collect_probes(self) -> None:
        for job in self._in_flight((VERIFYING,)):
            self._safely(job, self._collect_job_probes)

    def _collect_job_probes(self, job: Job) -> None:
        if job.futures and not all(f.done() for f in job.futures):
            return
        if not job.futures:
            if job.next_probe_at is not None and self.clock() >= job.next_probe_at:
                self._submit_probes(job)
            return
        probes = []
        for future in job.futures:
            try:
                probes.append(future.result())
            except Exception as e:  # pylint: disable=broad-except
                probes.append({"error": "%s: %s" % (type(e).__name__, e), "verified": False, "ca_id": None})
        job.futures = []
        job.probes = probes
        verdicts = [plan_lib.verdict(p, job.plan["target_ca"]) + (plan_lib.probe_unreachable(p),) for p in probes]
        failed = [m for v, m, _u in verdicts if v == "fail"]
        retry = [m for v, m, _u in verdicts if v == "retry"]
        if not failed and not retry:
            job.verification = {"verified": True, "outcome": "verified", "message": None, "probes": probes}
            self._finish(job, plan_lib.ROTATED)
        elif failed and not job.unconfirmed_failure:
            job.unconfirmed_failure = True
            job.next_probe_at = self.clock() + min(self.opts["poll_interval"], 1.0)
        elif failed or self.clock() >= job.verify_deadline:
            message = "; ".join(failed or retry)
            outcome = plan_lib.verification_outcome(verdicts)
            job.verification = {"verified": False, "outcome": outcome, "message": message, "probes": probes}
            if outcome == "unreachable" and not self.opts.get("rollback_on_unreachable"):
                self._unverified(job)
            else:
                self._verification_failed(job)
        else:
            job.next_probe_at = self.clock() + min(self.opts["poll_interval"], 1.0)

    def _unverified(self, job: Job) -> None:
        """Unreachable is no evidence that the new certificate is wrong: no rollback (unless asked for)."""
        message = job.verification["message"]
        reason = ("on %s (seen available on it) but not verified: %s, for %ss (verify_grace_period); not rolled "
                  "back: an endpoint that cannot be reached is no evidence that the new certificate is wrong "
                  "(rollback_on_unreachable=false)" % (job.plan["target_ca"], message,
                                                       self.opts.get("verify_grace_period", 0)))
        self._finish(job, plan_lib.UNVERIFIED, reason=reason, error={"message": "not verified: %s" % message},
                     confirmed=True)

    def _verification_failed(self, job: Job) -> None:
        message = job.verification["message"]
        if not self.opts.get("rollback_on_failure"):
            self._finish(job, plan_lib.FAILED, reason="verification failed: %s" % message,
                         error={"message": "verification failed: %s" % message})
            return
        possible = job.plan.get("rollback") or {}
        if not possible.get("possible"):
            job.rollback = {"attempted": False, "to_ca": job.plan["previous_ca"], "reason": possible.get("reason")}
            self._finish(job, plan_lib.FAILED, reason="verification failed: %s; not rolled back: %s" % (
                message, possible.get("reason")), error={"message": "verification failed: %s" % message})
            return
        call = plan_lib.rollback_call(job.unit, job.plan)
        job.rollback = {"attempted": True, "to_ca": job.plan["previous_ca"], "completed": False}
        try:
            self.api.call(call)
        except ApiError as e:
            if e.ambiguous:
                # Maybe made: the polls decide (back on the previous CA, or visibly not taken).
                job.uncertain = e
                job.rollback["uncertain"] = e.as_dict()
            else:
                job.rollback["error"] = e.as_dict()
                self._finish(job, plan_lib.FAILED, reason="verification failed: %s; the rollback call failed: %s" % (
                    message, e.message), error=e.as_dict())
                return
        job.phase = ROLLING_BACK
        job.deadline = self.clock() + self.opts["wait_timeout"]

    # -- results ---------------------------------------------------------------------------------
    def _finish(self, job: Job, status: str, reason: Optional[str] = None, error: Optional[dict[str, Any]] = None,
                response: Optional[dict[str, Any]] = None, confirmed: Optional[bool] = None,
                blocked_by: Optional[list[str]] = None) -> None:
        if job.result is not None:
            return
        unit = job.unit
        plan = job.plan
        job.phase = DONE
        current, pending = _final_cas(job, status, response, confirmed)
        if confirmed is None and status == plan_lib.ROTATED and not self.previewing:
            confirmed = True
        result = {
            "identifier": unit["identifier"],
            "region": unit["region"],
            "account": unit.get("account"),
            "account_alias": unit.get("account_alias"),
            "label": unit["label"],
            "kind": unit["kind"],
            "arn": unit.get("arn"),
            "engine": unit.get("engine"),
            "engine_version": unit.get("engine_version"),
            "cluster_id": unit.get("cluster_id"),
            "cluster_role": unit.get("cluster_role"),
            "members": list(unit["members"]),
            "status": status,
            "action": plan["action"],
            "changed": bool(job.changed),
            "reason": reason if reason is not None else plan.get("reason"),
            "error": error,
            "target_ca": plan["target_ca"],
            "previous_ca": plan["previous_ca"],
            "previous_pending_ca": unit.get("pending_ca"),
            "current_ca": current,
            "pending_ca": pending,
            "would_restart": plan["would_restart"],
            "rotation_without_restart": plan["rotation_without_restart"],
            "apply": self.opts.get("apply"),
            "statuses_seen": list(job.statuses),
            "confirmed": confirmed,
            "blocked_by": blocked_by,
            "verification": job.verification,
            "rollback": job.rollback,
            "notes": list(plan.get("notes") or []) + list(job.notes),
            "started_at": job.started_at,
            "finished_at": now_iso() if job.started is not None else None,
            "duration_seconds": round(self.clock() - job.started, 3) if job.started is not None else None,
        }
        job.result = result
        if job.key in self.scheduler.in_flight or job.key in self.scheduler.queued:
            self.scheduler.finish(job.key, plan_lib.reached_level(status, current, plan["target_ca"], confirmed))


def _place(unit: dict[str, Any]) -> str:
    """Where a unit's calls go: its region, or ``account/region`` in a named account (rds_api.Scope.label);
    polls describe once per place."""
    return unit.get("place") or unit["region"]


def _final_cas(job: Job, status: str, response: Optional[dict[str, Any]], confirmed: Optional[bool] = None) -> tuple[Optional[str], Optional[str]]:
    """The CA and pending CA to report: last seen by a poll, else from the response, else predicted."""
    unit = job.unit
    plan = job.plan
    seen = [job.last_seen[i] for i in unit["members"] if i in job.last_seen]
    if status == plan_lib.SCHEDULED:
        pending = plan["target_ca"]
        if response and plan["call"]["op"] == "modify_instance":
            pending = (response.get("PendingModifiedValues") or {}).get("CACertificateIdentifier") or pending
        return unit.get("current_ca"), pending
    if seen:
        first = seen[0]
        return first.get("CACertificateIdentifier"), (first.get("PendingModifiedValues") or {}).get(
            "CACertificateIdentifier")
    if confirmed is False and response:
        return response.get("CACertificateIdentifier") or unit.get("current_ca"), (
            response.get("PendingModifiedValues") or {}).get("CACertificateIdentifier")
    if status == plan_lib.ROTATED:
        return plan["target_ca"], None
    return unit.get("current_ca"), unit.get("pending_ca")
