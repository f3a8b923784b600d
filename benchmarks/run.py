"""Fleet-scale benchmark of rdsca.rotation against what an operator builds from amazon.aws.

One command (``make bench``, or ``.venv/bin/python benchmarks/run.py``) runs every scenario side by
side with its baseline, against the RDS simulator (tests/simulator) started as a separate process
with a fixed latency added to every API call, through real ``ansible-playbook`` runs:

1. inventory - ``rds_ca_facts`` over all regions vs the competent amazon.aws playbook (competent_inventory.yml)
   and the naive per-instance loop (baseline_inventory.yml), for N instances; ``detail: summary`` with
   ``output_file`` at 5,000 and alone at 10,000; the floor;
2. rotate - one ``rds_ca_rotate`` task (``max_concurrent`` 20) vs a loop over ``amazon.aws.rds_instance``
   with ``ca_certificate_identifier``, ``apply_immediately`` and ``wait`` (baseline_rotate.yml);
2b. realistic - the rotation with RDS-like transition times (compressed), modelled back to real time;
3. trust - the ``ca_trust`` role on many hosts, first run vs second run;
4. moonshot - 2,000 databases in 6 accounts x 4 regions: audited, rotated (RDS-like times, modelled), restarts
   counted from the simulator's events (issue 20).

It writes ``results.md`` (the table, the checks against the targets, the machine), ``results.json``
(every run) and ``bench.png`` (wall time and API calls vs N; needs matplotlib, see requirements.txt)
into ``--out`` (default benchmarks/results/), and the ansible-playbook and simulator logs under
``--out``/tmp/logs/ (gitignored).
See benchmarks/README.md for what is measured and how.
"""

from __future__ import annotations

import abc
import argparse
import datetime as dt
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
COLLECTIONS_PATH = os.path.join(REPO, ".build", "collections")
DEFAULT_OUT = os.path.join(HERE, "results")
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"]
OLD_CA = "rds-ca-2019"
DEFAULT_POLL_INTERVAL = 15.0   # rds_ca_rotate's default poll_interval (seconds)
TARGET_CA = "rds-ca-rsa2048-g1"
SHARED_DATA = os.environ.get("RDSCA_SHARED_DATA", os.path.join(os.path.dirname(REPO), "shared", "data", "rds-ca"))

# The fleet mix: (engine, exact version, share of the fleet). The simulator's catalog decides which
# versions rotate without a restart (tests/simulator/catalog.py); about half of these do.
ENGINE_MIX: list[tuple[str, str, float]] = [
    ("postgres", "16.3", 0.20),            # no restart
    ("postgres", "14.10", 0.12),           # restart
    ("postgres", "13.15", 0.10),           # no restart
    ("postgres", "12.19", 0.06),           # restart
    ("mysql", "8.0.36", 0.14),             # no restart
    ("mysql", "5.7.44", 0.10),             # restart
    ("mariadb", "10.11.8", 0.10),          # no restart
    ("mariadb", "10.6.16", 0.06),          # restart
    ("sqlserver-se", "15.00.4355.3.v1", 0.06),                 # restart
    ("oracle-ee", "19.0.0.0.ru-2024-04.rur-2024-04.r1", 0.06),  # restart
]
# Share of each engine version's instances already on the target CA (the rest are on rds-ca-2019).
ON_TARGET_SHARE = 0.2


# ---------------------------------------------------------------------------------------------
# Fleets
# ---------------------------------------------------------------------------------------------

def split(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder split of total into integer parts proportional to weights."""
    raw = [total * w / sum(weights) for w in weights]
    parts = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: (raw[i] - parts[i], -i), reverse=True)
    for i in order[:total - sum(parts)]:
        parts[i] += 1
    return parts


def fleet_dict(n: int, regions: list[str], on_target_share: float = ON_TARGET_SHARE,
               timing: dict[str, float] | None = None, prefix: str = "") -> dict[str, Any]:
    """N instances over the regions (as even as possible), mixed engines/versions/CAs/environments."""
    fleet: dict[str, Any] = {"description": f"benchmark fleet: {n} instances over {len(regions)} regions",
                             "regions": {}}
    if timing:
        fleet["timing"] = timing
    for region, per_region in zip(regions, split(n, [1.0] * len(regions))):
        instances = []
        for (engine, version, _share), count in zip(ENGINE_MIX, split(per_region, [s for _e, _v, s in ENGINE_MIX])):
            on_target = int(round(count * on_target_share))
            slug = f"{prefix}{engine}-{''.join(ch for ch in version if ch.isalnum())[:6]}".lower()
            for ca, k, env in ((OLD_CA, count - on_target, "production"), (TARGET_CA, on_target, "staging")):
                if k > 0:
                    ident = f"{slug}-{'old' if ca == OLD_CA else 'new'}"
                    spec: dict[str, Any] = {"id": ident, "engine": engine, "engine_version": version, "ca": ca,
                                            "tags": {"Environment": env}, "maintenance": "none"}
                    if k > 1:
                        spec["count"] = k
                    instances.append(spec)
        fleet["regions"][region] = {"default_ca": TARGET_CA, "instances": instances}
    return fleet


def fleet_instances(fleet: dict[str, Any]) -> list[dict[str, Any]]:
    """Expanded (region, id, engine, engine_version, ca) of a fleet_dict, the way the simulator expands `count`."""
    out = []
    for region, data in fleet["regions"].items():
        for spec in data["instances"]:
            count = spec.get("count", 1)
            for i in range(count):
                ident = spec["id"] if count == 1 else f"{spec['id']}-{i + 1}"
                out.append({"region": region, "id": ident, "engine": spec["engine"],
                            "engine_version": spec["engine_version"], "ca": spec["ca"]})
    return out


def write_fleet(path: str, fleet: dict[str, Any]) -> str:
    import yaml  # the venv has it (ansible); imported late so --help works anywhere
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(fleet, handle, sort_keys=False)
    return path


# ---------------------------------------------------------------------------------------------
# The simulator, as its own process (its CPU and memory stay out of the measured processes)
# ---------------------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime
    except (OSError, IndexError, ValueError):
        return float("nan")


def proc_rss_mb(pid: int) -> float:
    status = _proc_status(pid)
    return status.get("VmRSS", 0) / 1024.0


class SimulatorProcess:
    """`python -m tests.simulator serve` in a subprocess, and its control API."""

    def __init__(self, workdir: str, fleet_path: str, log_path: str) -> None:
        self.workdir = workdir
        self.info_file = os.path.join(workdir, "sim-info.json")
        self.log = open(log_path, "w", encoding="utf-8")  # pylint: disable=consider-using-with
        if os.path.exists(self.info_file):
            os.unlink(self.info_file)
        env = dict(os.environ)
        env.pop("AWS_ENDPOINT_URL", None)
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-m", "tests.simulator", "serve", "--fleet", fleet_path, "--port", "0",
             "--info-file", self.info_file], cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while not os.path.exists(self.info_file) or os.path.getsize(self.info_file) == 0:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the simulator exited with {self.proc.returncode}; see {log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError("the simulator did not start within 300 s")
            time.sleep(0.1)
        time.sleep(0.1)
        with open(self.info_file, encoding="utf-8") as handle:
            self.info = json.load(handle)
        self.url = self.info["endpoint_url"]

    def control(self, method: str, path: str, body: dict | None = None, timeout: float = 900) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def load(self, fleet_path: str) -> dict[str, Any]:
        return self.control("POST", "/_sim/fleet", {"path": fleet_path})

    def set_latency(self, latency_ms: float) -> None:
        if latency_ms > 0:
            self.control("POST", "/_sim/faults", {"rules": [{"operation": "*", "latency_ms": latency_ms}]})
        else:
            self.control("DELETE", "/_sim/faults", {})

    def reset_calls(self) -> None:
        self.control("POST", "/_sim/calls/reset", {})

    def calls(self) -> dict[str, Any]:
        return self.control("GET", "/_sim/calls")

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.proc.pid)

    def rss_mb(self) -> float:
        return proc_rss_mb(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def region_op_counts(snapshot: dict[str, Any], service: str = "rds") -> dict[str, dict[str, int]]:
    """{region: {operation: n}} of one service, from a /_sim/calls snapshot."""
    out: dict[str, dict[str, int]] = {}
    for region, ops in snapshot.get("by_region", {}).items():
        for key, n in ops.items():
            svc, _sep, op = key.partition(":")
            if svc == service:
                out.setdefault(region, {})[op] = n
    return out


# ---------------------------------------------------------------------------------------------
# Running ansible-playbook, timed, with its memory
# ---------------------------------------------------------------------------------------------

def _proc_status(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                key, _sep, value = line.partition(":")
                if key in ("VmRSS", "VmHWM", "PPid"):
                    out[key] = int(value.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return out


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    return children


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


class BackgroundSampler(abc.ABC):
    """Calls ``sample()`` every ``interval`` seconds in a daemon thread while used as a context manager."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    @abc.abstractmethod
    def sample(self) -> None:
        """Take one sample (called from the sampling thread)."""


class TreeMemory(BackgroundSampler):
    """Polls /proc for the process tree under a pid: peak summed RSS, and peak VmHWM per kind of process.

    Kinds: ``controller`` (ansible-playbook and its forked workers) and ``module`` (the module
    processes they start, e.g. rds_ca_facts' Python). VmHWM is the kernel's own high-water mark of a
    process's RSS, so a process sampled at least once before it exits is measured exactly (minus growth
    in its last sampling interval).
    """

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.peak_tree_kb = 0
        self.peak_hwm_kb = {"controller": 0, "module": 0}
        self._kinds: dict[int, str] = {}
        super().__init__(interval)

    def sample(self) -> None:
        children = _children_map()
        todo, tree = [self.pid], []
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        total = 0
        for pid in tree:
            status = _proc_status(pid)
            if not status:
                continue
            total += status.get("VmRSS", 0)
            kind = self._kinds.get(pid)
            if kind is None:
                cmd = _cmdline(pid)
                if not cmd:
                    continue
                kind = self._kinds[pid] = "controller" if "ansible-playbook" in cmd else (
                    "module" if "python" in cmd.split(" ", 1)[0] else "other")
            if kind in self.peak_hwm_kb:
                self.peak_hwm_kb[kind] = max(self.peak_hwm_kb[kind], status.get("VmHWM", 0))
        self.peak_tree_kb = max(self.peak_tree_kb, total)


@dataclass
class PlaybookRun:
    playbook: str
    rc: int
    wall_s: float
    max_rss_mb: float            # wait4(): the largest single process of the tree (kernel accounting, exact)
    tree_rss_mb: float           # polled: peak of the summed RSS of the live tree
    controller_hwm_mb: float     # polled VmHWM of ansible-playbook and its workers
    module_hwm_mb: float         # polled VmHWM of the module processes
    log: str
    recap: dict[str, dict[str, int]] = field(default_factory=dict)
    cpu_s: float = float("nan")  # wait4(): user + system CPU of the tree (ansible-playbook, workers, modules)


def ansible_env(endpoint_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a playbook that talks to the simulator only (as tests/integration/conftest.py)."""
    access_key, secret_key = simulator_credentials()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
    env.update({
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_DEFAULT_REGION": REGIONS[0],
        "AWS_ENDPOINT_URL": endpoint_url,
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        # The same Ansible settings for both sides; pipelining saves every module run a temp file,
        # which helps the baselines (thousands of module runs) far more than the collection's one task.
        "ANSIBLE_PIPELINING": "1",
        # The simulator's CAs carry RDS names with its own keys: accepted explicitly (not AWS's pinned roots).
        "RDSCA_ALLOW_UNPINNED_RDS_CAS": "true",
        "ANSIBLE_HOST_KEY_CHECKING": "0",
    })
    env.update(extra or {})
    return env


def simulator_credentials() -> tuple[str, str]:
    """SIM_ACCESS_KEY and SIM_SECRET_KEY of tests/simulator/server.py, read without importing it.

    Importing it imports moto (~150 MB): this process would grow that much, and since Linux carries a
    forked child's pre-exec RSS into its ``ru_maxrss``, every measured ansible-playbook tree would
    report at least that.
    """
    with open(os.path.join(REPO, "tests", "simulator", "server.py"), encoding="utf-8") as handle:
        text = handle.read()
    found = dict(re.findall(r'^(SIM_ACCESS_KEY|SIM_SECRET_KEY) = "([^"]+)"', text, re.M))
    return found.get("SIM_ACCESS_KEY", "AKIASIMULATOR0000000"), found.get("SIM_SECRET_KEY", "simulator")


def ensure_collection_link() -> None:
    link = os.path.join(COLLECTIONS_PATH, "ansible_collections", "rdsca", "rotation")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.relpath(REPO, os.path.dirname(link)), link)


def parse_recap(text: str) -> dict[str, dict[str, int]]:
    recap: dict[str, dict[str, int]] = {}
    in_recap = False
    for line in text.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        if in_recap and ":" in line and "=" in line:
            host, _sep, rest = line.partition(":")
            recap[host.strip()] = {k: int(v) for k, v in (p.split("=") for p in rest.split()) if v.isdigit()}
    return recap


def run_playbook(playbook: str, extra_vars: dict[str, Any], env: dict[str, str], log_path: str,
                 inventory: str = "localhost,", extra_args: list[str] | None = None,
                 timeout: float = 6 * 3600) -> PlaybookRun:
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, playbook]
    if inventory == "localhost,":
        cmd += ["-c", "local"]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as handle:
        json.dump(extra_vars, handle)
        vars_file = handle.name
    cmd += ["-e", "@" + vars_file] + (extra_args or [])
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    try:
        with open(log_path, "w", encoding="utf-8") as log:
            log.write("$ " + " ".join(cmd) + "\n")
            log.flush()
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log,  # pylint: disable=consider-using-with
                                    stderr=subprocess.STDOUT)
            with TreeMemory(proc.pid) as memory:
                deadline = time.monotonic() + timeout
                while True:
                    pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
                    if pid:
                        break
                    if time.monotonic() > deadline:
                        proc.kill()
                    time.sleep(0.02)
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        os.unlink(vars_file)
    with open(log_path, encoding="utf-8", errors="replace") as log:
        recap = parse_recap(log.read())
    return PlaybookRun(playbook=os.path.basename(playbook), rc=proc.returncode, wall_s=wall,
                       max_rss_mb=rusage.ru_maxrss / 1024.0, tree_rss_mb=memory.peak_tree_kb / 1024.0,
                       cpu_s=rusage.ru_utime + rusage.ru_stime,
                       controller_hwm_mb=memory.peak_hwm_kb["controller"] / 1024.0,
                       module_hwm_mb=memory.peak_hwm_kb["module"] / 1024.0, log=log_path, recap=recap)


# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------

@dataclass
class Measurement:
    scenario: str
    variant: str                 # "rdsca" (this collection), "baseline", "first"/"second" (trust)
    n: int
    run: int
    wall_s: float
    rc: int
    api_calls: int | None
    calls_by_region: dict[str, dict[str, int]]
    max_rss_mb: float
    tree_rss_mb: float
    module_hwm_mb: float
    controller_hwm_mb: float
    sim_cpu_s: float
    log: str
    extra: dict[str, Any] = field(default_factory=dict)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out = os.path.abspath(args.out)
        # transient: the ansible-playbook and simulator logs (results/tmp/ is gitignored)
        self.logs = os.path.join(self.out, "tmp", "logs")
        self.work = tempfile.mkdtemp(prefix="rdsca-bench-")
        self.measurements: list[Measurement] = []
        self.notes: list[str] = []
        self.checks: list[dict[str, Any]] = []
        self.sim: SimulatorProcess | None = None
        self.startup_s: float | None = None
        self.floor_inputs: dict[int, dict[str, int]] = {}
        self.realistic_rows: list[dict[str, Any]] = []
        self.moonshot_rows: list[dict[str, Any]] = []
        self.started = dt.datetime.now(dt.timezone.utc)

    # -- helpers ----------------------------------------------------------------------------
    def say(self, message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)

    def start_simulator(self) -> SimulatorProcess:
        fleet = write_fleet(os.path.join(self.work, "fleet-empty.yml"), fleet_dict(4, REGIONS[:self.args.regions]))
        self.sim = SimulatorProcess(self.work, fleet, os.path.join(self.logs, "simulator.log"))
        self.say(f"simulator pid {self.sim.proc.pid} at {self.sim.url}")
        return self.sim

    def measured(self, scenario: str, variant: str, n: int, run: int, playbook: str, extra_vars: dict[str, Any],
                 inventory: str = "localhost,", env_extra: dict[str, str] | None = None,
                 poll_calls: Callable[[], None] | None = None, extra: dict[str, Any] | None = None) -> Measurement:
        assert self.sim is not None
        self.sim.reset_calls()
        cpu0 = self.sim.cpu_seconds()
        log = os.path.join(self.logs, f"{scenario}-{variant}-n{n}-run{run}.log")
        env = ansible_env(self.sim.url, env_extra)
        result = run_playbook(os.path.join(HERE, playbook), extra_vars, env, log, inventory=inventory)
        sim_cpu = self.sim.cpu_seconds() - cpu0
        calls = region_op_counts(self.sim.calls())
        total = sum(sum(ops.values()) for ops in calls.values())
        m = Measurement(scenario, variant, n, run, result.wall_s, result.rc, total, calls, result.max_rss_mb,
                        result.tree_rss_mb, result.module_hwm_mb, result.controller_hwm_mb, sim_cpu,
                        os.path.relpath(log, self.out), dict(extra or {}))
        m.extra["recap"] = result.recap
        m.extra["tree_cpu_s"] = result.cpu_s
        m.extra["answer"] = parse_answer(log)
        self.measurements.append(m)
        status = "ok" if result.rc == 0 else f"FAILED rc={result.rc} (see {log})"
        self.say(f"  {scenario:9s} {variant:15s} N={n:<5d} run {run}: {result.wall_s:8.2f} s, {total} API calls, "
                 f"peak RSS module {result.module_hwm_mb:.0f} MB / controller {result.controller_hwm_mb:.0f} MB, "
                 f"simulator CPU {sim_cpu:.1f} s - {status}")
        return m

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append({"check": name, "ok": bool(ok), "detail": detail})
        self.say(f"  check {'PASS' if ok else 'MISS'}: {name} - {detail}")

    # -- scenario 1: inventory --------------------------------------------------------------
    def inventory(self) -> None:
        a = self.args
        regions = REGIONS[:a.regions]
        self.startup_s = self.measure_startup()
        for n in sorted(set(a.sizes) | set(a.summary_sizes)):
            full = n in a.sizes  # the default detail and the baselines; otherwise `detail: summary` only (10,000)
            fleet = fleet_dict(n, regions)
            path = write_fleet(os.path.join(self.work, f"fleet-inventory-{n}.yml"), fleet)
            t0 = time.perf_counter()
            loaded = self.sim.load(path)
            self.say(f"inventory N={n}: seeded {loaded['instances']} instances in {time.perf_counter() - t0:.1f} s")
            self.sim.set_latency(a.latency_ms)
            expected = expected_inventory(fleet)
            common = {"bench_endpoint_url": self.sim.url, "bench_regions": regions}
            # One untimed run first: the fleet's first pages after a load, and cold OS caches after a pause,
            # would otherwise land on this N's first measured run.
            warm = run_playbook(os.path.join(HERE, "inventory.yml"),
                                {**common, **({} if full else {"bench_detail": "summary"})},
                                ansible_env(self.sim.url), os.path.join(self.logs, f"inventory-warmup-n{n}.log"))
            if warm.rc != 0:
                self.say(f"  warm-up run failed (rc {warm.rc}), see {warm.log}")
            if not full:
                baseline_runs = 0
            elif n > a.baseline_max_n:
                baseline_runs = 0
                self.notes.append(f"inventory baseline not run at N={n} (above --baseline-max-n "
                                  f"{a.baseline_max_n}); see the extrapolated target below")
            else:
                baseline_runs = a.runs if n <= a.baseline_full_runs_max_n else 1
            summary = not full or n in a.summary_at
            for run in range(1, max(a.runs, baseline_runs) + 1):
                if run <= a.runs and full:
                    m = self.measured("inventory", "rdsca", n, run, "inventory.yml", common)
                    m.extra["answer_ok"] = answer_matches(m.extra["answer"], expected)
                if run <= a.runs and summary:
                    self.measure_summary(n, run, common, expected)
                if run <= a.runs and full and n <= a.competent_max_n:
                    m = self.measured("inventory", "competent", n, run, "competent_inventory.yml", common)
                    m.extra["answer_ok"] = answer_matches(m.extra["answer"], expected)
                if run <= baseline_runs:
                    m = self.measured("inventory", "baseline", n, run, "baseline_inventory.yml", common)
                    m.extra["answer_ok"] = answer_matches(m.extra["answer"], expected)
            self.floor_inputs[n] = floor_critical_calls(fleet)
            self.inventory_checks(n, fleet)

    def measure_summary(self, n: int, run: int, common: dict[str, Any], expected: dict[str, Any]) -> Measurement:
        """rds_ca_facts with `detail: summary` and `output_file` (issue 20): the summary comes back, every record
        goes to a JSON Lines file; the answer is checked from the summary AND from the file's records."""
        jsonl = os.path.join(self.work, f"inventory-summary-n{n}-run{run}.jsonl")
        m = self.measured("inventory", "rdsca-summary", n, run, "inventory.yml",
                          {**common, "bench_detail": "summary", "bench_output_file": jsonl})
        records, bad = 0, 0
        try:
            with open(jsonl, encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        try:
                            records += 1 if isinstance(json.loads(line), dict) else 0
                        except ValueError:
                            bad += 1
            size = os.path.getsize(jsonl)
            os.unlink(jsonl)
        except OSError:
            size = None
        m.extra.update({"jsonl_records": records, "jsonl_bad_lines": bad, "jsonl_bytes": size})
        m.extra["answer_ok"] = (answer_matches(m.extra["answer"], expected) and records == expected["databases"]
                                and not bad)
        self.say(f"    output_file: {records} records ({bad} unreadable lines), {size} bytes")
        return m

    def measure_startup(self, runs: int = 3) -> float:
        """Median wall time of ansible-playbook running one debug task: Ansible's own start-up (the floor's base)."""
        walls = []
        for run in range(1, runs + 1):
            result = run_playbook(os.path.join(HERE, "noop.yml"), {}, ansible_env(self.sim.url),
                                  os.path.join(self.logs, f"startup-run{run}.log"))
            walls.append(result.wall_s)
        self.say(f"Ansible start-up (noop.yml): median {statistics.median(walls):.2f} s of {walls}")
        return statistics.median(walls)

    def inventory_checks(self, n: int, fleet: dict[str, Any]) -> None:
        ours = [m for m in self.measurements
                if m.scenario == "inventory" and m.variant in ("rdsca", "rdsca-summary") and m.n == n]
        per_region = inventory_call_bound(fleet)
        worst = []
        for m in ours:
            for region, bound in per_region.items():
                got = sum(m.calls_by_region.get(region, {}).values())
                worst.append((got - bound, region, got, bound))
        worst.sort(reverse=True)
        over, region, got, bound = worst[0]
        self.check(f"inventory N={n}: API calls per region <= ceil(n_r/100) + 5 + distinct engines",
                   over <= 0, f"worst region {region}: {got} calls, bound {bound}")
        self.check(f"inventory N={n}: every variant run gives the fleet's answer (databases, would-restart counts)",
                   all(m.extra.get("answer_ok") for m in self.measurements
                       if m.scenario == "inventory" and m.n == n),
                   json.dumps(expected_inventory(fleet)))
        summaries = [m for m in self.measurements
                     if m.scenario == "inventory" and m.variant == "rdsca-summary" and m.n == n]
        if summaries:
            self.check(f"inventory N={n}, detail summary: the summary's answer and the output_file's records "
                       f"(JSON Lines) both match the fleet",
                       all(m.extra.get("answer_ok") for m in summaries),
                       f"records per run {[m.extra.get('jsonl_records') for m in summaries]} of "
                       f"{expected_inventory(fleet)['databases']}, unreadable lines "
                       f"{[m.extra.get('jsonl_bad_lines') for m in summaries]}")

    # -- scenario 2: rotation ---------------------------------------------------------------
    def rotate(self) -> None:
        a = self.args
        regions = REGIONS[:a.regions]
        n = a.rotate_n
        timing = {"modify_seconds": a.modify_seconds, "reboot_seconds": a.reboot_seconds}
        fleet = fleet_dict(n, regions, on_target_share=0.0, timing=timing)
        path = write_fleet(os.path.join(self.work, f"fleet-rotate-{n}.yml"), fleet)
        instances = fleet_instances(fleet)
        restart_versions = restart_map()
        for inst in instances:
            inst["restart"] = restart_versions.get((inst["engine"], inst["engine_version"]))
        databases = [f"{i['region']}/{i['id']}" for i in instances]
        common = {"bench_endpoint_url": self.sim.url, "bench_regions": regions, "bench_target_ca": TARGET_CA}
        for run in range(1, a.runs + 1):
            self.sim.load(path)
            self.sim.set_latency(a.latency_ms)
            sampler = CallSampler(self.sim, interval=min(0.25, a.poll_interval / 4))
            with sampler:
                m = self.measured("rotate", "rdsca", n, run, "rotate.yml",
                                  {**common, "bench_databases": databases, "bench_max_concurrent": a.max_concurrent,
                                   "bench_poll_interval": a.poll_interval})
            m.extra["poll_windows"] = sampler.max_in_window("DescribeDBInstances", a.poll_interval)
        # The baseline: the same loop over a sample of the instances (and over none, for the fixed cost),
        # extrapolated to all n - the loop is serial and its iterations independent (see README).
        sample = baseline_sample(instances, a.rotate_baseline_sample)
        runs = []
        for k, chosen in ((0, []), (len(sample), sample))[:2 if sample else 1]:
            self.sim.load(path)
            self.sim.set_latency(a.latency_ms)
            m = self.measured("rotate", "baseline-sample", k, 1, "baseline_rotate.yml",
                              {**common, "bench_databases": [{"region": i["region"], "id": i["id"]} for i in chosen],
                               },
                              extra={"sample": [f"{i['region']}/{i['id']} (restart={i['restart']})" for i in chosen]})
            runs.append(m)
        fixed, sampled = (runs + runs)[:2]
        k = len(sample)
        if not k:
            self.notes.append("rotate baseline: not run (--rotate-baseline-sample 0); only its fixed cost "
                              f"(the playbook over no instance, {fixed.wall_s:.1f} s) was measured")
        if k and sampled.rc == 0:
            per_item = (sampled.wall_s - fixed.wall_s) / k
            calls_per_item = (sampled.api_calls - fixed.api_calls) / k
            est = Measurement("rotate", "baseline", n, 1, fixed.wall_s + per_item * n, 0,
                              int(round(fixed.api_calls + calls_per_item * n)), {}, sampled.max_rss_mb,
                              sampled.tree_rss_mb, sampled.module_hwm_mb, sampled.controller_hwm_mb,
                              float("nan"), sampled.log,
                              {"extrapolated": True, "from_sample": k, "per_instance_s": per_item,
                               "calls_per_instance": calls_per_item, "fixed_s": fixed.wall_s})
            self.measurements.append(est)
            self.notes.append(
                f"rotate baseline: amazon.aws.rds_instance loop measured on {k} of {n} instances "
                f"({per_item:.1f} s and {calls_per_item:.1f} API calls per instance, {fixed.wall_s:.1f} s fixed), "
                f"extrapolated linearly to {n}: the loop is serial and each iteration waits for its own instance.")
            self.notes.append(rotation_model(per_item, a))
        self.rotate_checks(n, fleet, instances)

    def rotate_checks(self, n: int, fleet: dict[str, Any], instances: list[dict[str, Any]]) -> None:
        a = self.args
        ours = [m for m in self.measurements if m.scenario == "rotate" and m.variant == "rdsca"]
        for m in ours[:1]:
            answer = m.extra.get("answer") or {}
            pairs = list(zip(answer.get("durations") or [], answer.get("would_restart") or []))
            restart = [d for d, r in pairs if r is True and d is not None]
            hot = [d for d, r in pairs if r is False and d is not None]
            if restart or hot:
                ideal = (a.modify_seconds + a.reboot_seconds) * len(restart) + a.modify_seconds * len(hot)
                self.notes.append(
                    f"rotate, where rds_ca_rotate's time goes (run 1): per database, start to confirmed, median "
                    f"{statistics.median(restart) if restart else float('nan'):.1f} s for the {len(restart)} that "
                    f"restart (simulated {a.modify_seconds + a.reboot_seconds:g} s) and "
                    f"{statistics.median(hot) if hot else float('nan'):.1f} s for the {len(hot)} that do not "
                    f"(simulated {a.modify_seconds:g} s); the rest is the detection lag (up to poll_interval "
                    f"{a.poll_interval:g} s plus one poll round) and the submissions. With {a.max_concurrent} at a "
                    f"time the transitions alone need >= {ideal / a.max_concurrent:.0f} s; the task took "
                    f"{m.wall_s:.0f} s of wall time including Ansible's start-up and the up-front reads.")
        for m in ours:
            summary = (m.extra.get("answer") or {}).get("summary", {})
            self.check(f"rotate run {m.run}: every instance rotated", summary.get("rotated") == n,
                       f"summary {summary}")
            windows = m.extra.get("poll_windows", {})
            worst = max(windows.values()) if windows else None
            self.check(f"rotate run {m.run}: <= 1 DescribeDBInstances per region per poll interval "
                       f"({a.poll_interval:g} s) while waiting",
                       worst is not None and worst <= 1,
                       f"max per region in any {a.poll_interval:g}-s window: {windows}")

    # -- scenario 2b: rotation with RDS-like transition times, compressed ----------------------------
    def realistic(self) -> None:
        """rds_ca_rotate with transitions drawn from RDS's minutes (simulator `time_compression`) and the
        module's DEFAULT poll_interval compressed by the same factor, then scaled back to real time (a model)."""
        a = self.args
        regions = REGIONS[:a.regions]
        n, f, c = a.rotate_n, a.time_compression, a.max_concurrent
        fleet = fleet_dict(n, regions, on_target_share=0.0, timing={"time_compression": f, "seed": 7}, prefix="rl-")
        path = write_fleet(os.path.join(self.work, f"fleet-realistic-{n}.yml"), fleet)
        databases = [f"{i['region']}/{i['id']}" for i in fleet_instances(fleet)]
        startup = self.startup_s if self.startup_s is not None else self.measure_startup()
        self.startup_s = startup
        self.sim.load(path)
        self.sim.set_latency(a.latency_ms)
        poll = DEFAULT_POLL_INTERVAL * f
        m = self.measured("rotate-realistic", "rdsca", n, 1, "rotate.yml",
                          {"bench_endpoint_url": self.sim.url, "bench_regions": regions, "bench_target_ca": TARGET_CA,
                           "bench_databases": databases, "bench_max_concurrent": c, "bench_poll_interval": poll})
        summary = (m.extra.get("answer") or {}).get("summary", {})
        self.check(f"rotate-realistic: every instance rotated ({n})", summary.get("rotated") == n, f"summary {summary}")
        if m.rc != 0:
            return
        real = startup + (m.wall_s - startup) / f
        self.realistic_rows.append({"n": n, "compression": f, "poll_interval_s": poll, "max_concurrent": c,
                                    "wall_s": m.wall_s, "modelled_s": real, "measured": True})
        for big in (2000,):
            scale = math.ceil(big / c) / math.ceil(n / c)
            self.realistic_rows.append({"n": big, "compression": f, "poll_interval_s": poll, "max_concurrent": c,
                                        "wall_s": None, "modelled_s": startup + (real - startup) * scale,
                                        "measured": False, "from_n": n})

    # -- scenario 4: the moonshot (issue 20): 2,000 databases, 6 accounts x 4 regions ---------------------
    def moonshot(self) -> None:
        """Audit (measured, real time) and rotation (RDS-like transition times, compressed, then modelled back
        to real time) of an estate of several accounts reached with sts:AssumeRole; restarts counted from the
        simulator's own events."""
        a = self.args
        regions = REGIONS[:a.regions]
        n, f, c, role = a.moonshot_n, a.moonshot_compression, a.moonshot_concurrency, "rdsca-rotation"
        accounts = [f"{100000000001 + i:012d}" for i in range(a.moonshot_accounts)]
        per_account = split(n, [1.0] * len(accounts))
        fleet: dict[str, Any] = {"description": f"moonshot: {n} instances, {len(accounts)} accounts x "
                                                f"{len(regions)} regions",
                                 "account_id": accounts[0],
                                 "timing": {"time_compression": f, "seed": 11}, "regions": {}, "accounts": {}}
        instances = []
        for i, (account, count) in enumerate(zip(accounts, per_account)):
            part = fleet_dict(count, regions, on_target_share=0.0, prefix=f"m{i + 1}-")
            spec: dict[str, Any] = {"alias": f"moonshot-{i + 1}", "roles": [role]}
            if i == 0:
                fleet["regions"] = part["regions"]   # the caller's own account: the top-level estate
            else:
                spec["regions"] = part["regions"]
            fleet["accounts"][account] = spec
            instances += [dict(inst, account=account) for inst in fleet_instances(part)]
        path = write_fleet(os.path.join(self.work, f"fleet-moonshot-{n}.yml"), fleet)
        t0 = time.perf_counter()
        loaded = self.sim.load(path)
        self.say(f"moonshot: seeded {loaded.get('instances')} instances in {len(accounts)} accounts in "
                 f"{time.perf_counter() - t0:.1f} s")
        restart = restart_map()
        expected = {"databases": len(instances), "by_restart": {
            "restart": sum(1 for i in instances if restart.get((i["engine"], i["engine_version"])) is True),
            "no_restart": sum(1 for i in instances if restart.get((i["engine"], i["engine_version"])) is False),
            "unknown": sum(1 for i in instances if restart.get((i["engine"], i["engine_version"])) is None)}}
        bench_accounts = [{"account_id": acct} for acct in accounts]
        common = {"bench_endpoint_url": self.sim.url, "bench_regions": regions, "bench_accounts": bench_accounts,
                  "bench_role_name": role}
        startup = self.startup_s if self.startup_s is not None else self.measure_startup()
        self.startup_s = startup
        row: dict[str, Any] = {"n": n, "accounts": len(accounts), "regions": len(regions), "compression": f,
                               "concurrency": c, "window_h": a.moonshot_window_h}
        # 1. The audit, in real time (no transition involved): rds_ca_facts with `accounts` and role_name.
        self.sim.set_latency(a.latency_ms)
        audits = []
        for run in range(1, a.runs + 1):
            m = self.measured("moonshot-audit", "rdsca", n, run, "inventory.yml", common)
            m.extra["answer_ok"] = answer_matches(m.extra["answer"], expected)
            audits.append(m)
        walls = [m.wall_s for m in audits if m.rc == 0]
        row["audit_s"] = statistics.median(walls) if walls else None
        self.check(f"moonshot audit: {n} databases in {len(accounts)} accounts x {len(regions)} regions, the "
                   "fleet's answer in every run", all(m.extra.get("answer_ok") for m in audits),
                   f"expected {json.dumps(expected)}")
        # 2. The rotation: transitions from RDS's minutes x f, the API latency and poll_interval x f too, so that
        # dividing the wall time by f gives real time (the simulator's CPU and Ansible's own work are scaled up
        # with it: the model is conservative). Measured on all n, or on --moonshot-rotate-n of them, then waves.
        k = min(n, a.moonshot_rotate_n or n)
        step = n / k
        chosen = [instances[int(j * step)] for j in range(k)]
        databases = [f"{i['account']}/{i['region']}/{i['id']}" for i in chosen]
        poll = DEFAULT_POLL_INTERVAL * f
        self.sim.set_latency(a.latency_ms * f)
        m = self.measured("moonshot-rotate", "rdsca", k, 1, "rotate.yml",
                          {**common, "bench_target_ca": TARGET_CA, "bench_databases": databases,
                           "bench_max_concurrent": c, "bench_poll_interval": poll},
                          extra={"compression": f, "of_n": n})
        summary = (m.extra.get("answer") or {}).get("summary", {})
        self.check(f"moonshot rotation: every database rotated ({k} of the {n})", summary.get("rotated") == k,
                   f"summary {({key: v for key, v in summary.items() if key != 'by_account'})}")
        # 3. Restarts as the simulator saw them (DB_INSTANCE_RESTARTED events), not as the module reports them.
        self.sim.set_latency(0)
        restarts = self.simulator_restarts(role, accounts, regions)
        hot = {f"{i['account']}/{i['region']}/{i['id']}" for i in chosen
               if restart.get((i["engine"], i["engine_version"])) is False}
        cold = {f"{i['account']}/{i['region']}/{i['id']}" for i in chosen
                if restart.get((i["engine"], i["engine_version"])) is True}
        if restarts is None:
            self.check("moonshot rotation: zero unplanned restarts (simulator events)", False,
                       "could not read the simulator's events (see the log)")
        else:
            unplanned = sorted(label for label in restarts if label in hot or label not in cold)
            twice = sorted(label for label, times in restarts.items() if times > 1)
            row.update({"restarted": len(restarts), "planned_restarts": len(cold), "hot_swaps": len(hot),
                        "unplanned_restarts": len(unplanned), "restarted_twice": len(twice)})
            self.check("moonshot rotation: zero unplanned restarts - no database that rotates without a restart "
                       "(or that was not in the list) was rebooted, none twice (simulator's DB_INSTANCE_RESTARTED "
                       "events)", not unplanned and not twice,
                       f"{len(restarts)} restarted of {len(cold)} that need one; {len(hot)} rotate without; unplanned "
                       f"{len(unplanned)} {unplanned[:5]}; restarted twice {len(twice)} {twice[:5]}")
        if m.rc == 0:
            real = startup + (m.wall_s - startup) / f
            waves = math.ceil(n / c) / math.ceil(k / c)
            row.update({"rotate_wall_s": m.wall_s, "rotate_measured_n": k, "poll_interval_s": poll,
                        "rotate_real_s": real, "rotate_modelled_s": startup + (real - startup) * waves,
                        "waves_scale": waves})
            # A second, less conservative model: the CPU the playbook tree and the simulator spent is real time
            # that would not stretch with the transitions (taken as if all of it were on the critical path);
            # only the rest of the wall time (waiting for transitions and polls) is divided by the factor.
            cpu = m.extra.get("tree_cpu_s", float("nan")) + m.sim_cpu_s
            if not math.isnan(cpu):
                waiting = max(0.0, m.wall_s - startup - cpu)
                row.update({"rotate_cpu_s": cpu,
                            "rotate_modelled_cpu_s": startup + (cpu + waiting / f) * waves})
            # a time, so a target in results.md (moonshot_targets), not a check: no check asserts a time
            how = "measured on all" if k == n else f"measured on {k}, scaled by waves x{waves:.2f}"
            self.say(f"  moonshot rotation of {n}: {row['rotate_modelled_s'] / 60:.0f} min modelled ({how})")
        self.moonshot_rows.append(row)

    def simulator_restarts(self, role: str, accounts: list[str], regions: list[str]) -> dict[str, int] | None:
        """{account/region/id: restarts} from the simulator's DescribeEvents (benchmarks/sim_restarts.py)."""
        env = ansible_env(self.sim.url)
        proc = subprocess.run([sys.executable, os.path.join(HERE, "sim_restarts.py"), self.sim.url, role,
                               ",".join(accounts), ",".join(regions)], env=env, capture_output=True, text=True,
                              check=False, timeout=600)
        if proc.returncode != 0:
            self.say(f"  sim_restarts.py failed: {proc.stderr[-2000:]}")
            return None
        return json.loads(proc.stdout)

    # -- scenario 3: trust role on many hosts ---------------------------------------------------
    def trust(self) -> None:
        a = self.args
        bundle = os.path.join(SHARED_DATA, "global-bundle.pem")
        if not os.path.exists(bundle):
            self.notes.append(f"trust: skipped, the RDS CA bundle {bundle} is missing (set RDSCA_SHARED_DATA)")
            self.say(self.notes[-1])
            return
        hosts = a.trust_hosts
        for run in range(1, a.runs + 1):
            root = os.path.join(self.work, f"trust-{run}")
            shutil.rmtree(root, ignore_errors=True)
            inventory = os.path.join(self.work, f"trust-hosts-{hosts}.ini")
            with open(inventory, "w", encoding="utf-8") as handle:
                handle.write("[rds_clients]\n")
                for h in range(1, hosts + 1):
                    handle.write(f"client-{h:04d} ansible_connection=local\n")
            java, system = java_cacerts(), debian_system_store()
            for h in range(1, hosts + 1):  # the environment files' directory, as a real host has it
                host_root = os.path.join(root, f"client-{h:04d}")
                os.makedirs(os.path.join(host_root, "etc", "profile.d"))
                if system:  # the host's own copy of this machine's system trust store, compiled as it is
                    shutil.copytree("/etc/ssl/certs", os.path.join(host_root, "etc", "ssl", "certs"), symlinks=True)
                    shutil.copyfile("/etc/ca-certificates.conf", os.path.join(host_root, "etc", "ca-certificates.conf"))
                    os.makedirs(os.path.join(host_root, "usr", "local", "share", "ca-certificates"))
                    os.makedirs(os.path.join(host_root, "etc", "ca-certificates", "update.d"))  # no hook runs
                if java:  # and the JDK's trust store, which the first run adds the RDS CAs to
                    os.makedirs(os.path.join(host_root, "etc", "ssl", "certs", "java"), exist_ok=True)
                    shutil.copyfile(java, os.path.join(host_root, "etc", "ssl", "certs", "java", "cacerts"))
            if run == 1:
                if not java:
                    self.notes.append("trust: no JDK (keytool and its cacerts) on this machine, so the hosts have no "
                                      "Java trust store")
                if not system:
                    self.notes.append("trust: not a Debian-family machine (update-ca-certificates with --etccertsdir), "
                                      "so the hosts' system trust store is off: the first run does not compile it")
            extra = {"bench_trust_root": root, "bench_bundle_src": bundle, "bench_endpoint_url": self.sim.url,
                     "bench_java": bool(java), "bench_system_store": bool(system)}
            if system:
                extra["ca_trust_platforms"] = SYSTEM_STORE_PLATFORMS
            env_extra = {"ANSIBLE_FORKS": str(a.forks)}
            for variant in ("first", "second"):
                m = self.measured("trust", variant, hosts, run, "trust.yml", extra, inventory=inventory,
                                  env_extra=env_extra)
                m.extra["java"] = bool(java)
                m.extra["system_store"] = bool(system)
                m.extra["changed"] = sum(v.get("changed", 0) for v in m.extra["recap"].values())
                m.extra["changed_hosts"] = sum(1 for v in m.extra["recap"].values() if v.get("changed", 0))
                m.extra["failed"] = sum(v.get("failed", 0) + v.get("unreachable", 0) for v in m.extra["recap"].values())
                m.extra["module_runs_per_host"] = module_runs_per_host(os.path.join(self.out, m.log))
                m.api_calls = None
        steady = [m.extra["module_runs_per_host"] for m in self.measurements
                  if m.scenario == "trust" and m.variant == "second"]
        worst = max((max(runs.values()) for runs in steady if runs), default=None)
        self.check("trust: at most 3 module runs per host when nothing changes", worst is not None and worst <= 3,
                   f"most module runs on one host in a second run: {worst}")
        walls = {variant: [m.wall_s for m in self.measurements if m.scenario == "trust" and m.variant == variant]
                 for variant in ("first", "second")}
        if walls["first"] and walls["second"]:
            first, second = statistics.median(walls["first"]), statistics.median(walls["second"])
            detail = f"first {first:.1f} s, second {second:.1f} s ({first / max(second, 1e-9):.1f}x) for {hosts} hosts"
            if hosts >= TRUST_SPEEDUP_MIN_HOSTS:
                self.check("trust: the second run at least 3x faster than the first", second * 3 <= first, detail)
            else:  # a smoke run: Ansible's start-up and the controller's bundle check dominate both runs
                self.notes.append(f"trust: {detail}; the 3x check needs at least {TRUST_SPEEDUP_MIN_HOSTS} hosts, where "
                                  "the per-host work, not the fixed start-up, is what is measured")
        for variant, want in (("first", None), ("second", 0)):
            ms = [m for m in self.measurements if m.scenario == "trust" and m.variant == variant]
            changed = [m.extra["changed"] for m in ms]
            if want == 0:
                self.check("trust: second run changes nothing", all(c == 0 for c in changed), f"changed {changed}")
            else:
                self.check("trust: first run changes every host",
                           all(m.extra["changed_hosts"] == hosts for m in ms),
                           f"changed hosts {[m.extra['changed_hosts'] for m in ms]} of {hosts}")

    # -- run all ------------------------------------------------------------------------------
    def run(self) -> int:
        os.makedirs(self.logs, exist_ok=True)
        ensure_collection_link()
        self.machine = machine_info()
        est = estimate_minutes(self.args)
        self.say(f"results into {self.out}; estimated wall time on 2 quiet cores: ~{sum(est.values()):.0f} min ("
                 + ", ".join(f"{k} {v:.0f}" for k, v in est.items()) + "); niceness "
                 + str(self.machine["nice"]))
        self.start_simulator()
        try:
            for scenario in self.args.scenarios:
                self.say(f"scenario {scenario}")
                getattr(self, scenario)()
        finally:
            self.sim.stop()
            shutil.rmtree(self.work, ignore_errors=True)
        self.machine["load_after"] = os.getloadavg()
        self.finished = dt.datetime.now(dt.timezone.utc)
        self.write()
        failed = [m for m in self.measurements if m.rc != 0]
        for m in failed:
            self.say(f"FAILED run: {m.scenario} {m.variant} N={m.n} run {m.run}, log {m.log}")
        return 1 if failed else 0

    def write(self) -> None:
        data = {
            "started": self.started.isoformat(), "finished": self.finished.isoformat(),
            "duration_s": (self.finished - self.started).total_seconds(),
            "machine": self.machine, "settings": settings_of(self.args),
            "checks": self.checks, "run_notes": self.notes,
            "measurements": [asdict(m) for m in self.measurements],
            "startup_s": self.startup_s,
            "floor_inputs": {str(n): v for n, v in self.floor_inputs.items()},
            "realistic": self.realistic_rows,
            "moonshot": self.moonshot_rows,
        }
        write_report(data, self.out)
        self.say(f"wrote {os.path.join(self.out, 'results.md')} and results.json")
        if not self.args.no_plot:
            try:
                from plot import plot  # benchmarks/plot.py; needs matplotlib (benchmarks/requirements.txt)
            except ImportError as exc:
                self.say(f"no plot: {exc} (pip install -r benchmarks/requirements.txt)")
            else:
                png = plot(read_json(os.path.join(self.out, "results.json")), os.path.join(self.out, "bench.png"))
                self.say(f"wrote {png}")
        if not self.args.no_profile and not self.args.quick and "inventory" in self.args.scenarios:
            import profile_inventory  # benchmarks/profile_inventory.py; imports Ansible into this process, so last
            n = max(self.args.sizes)
            self.say(f"profiling rds_ca_facts at N={n}")
            profile_inventory.main(["--n", str(n), "--latency-ms", str(self.args.latency_ms), "--regions",
                                    str(self.args.regions),
                                    "--out", os.path.join(self.out, f"profile-inventory-{n}.txt")])


def write_report(data: dict[str, Any], out: str) -> dict[str, Any]:
    """Derive the rows, targets and notes from the measurements; write results.json and results.md into out."""
    measurements = [Measurement(**m) for m in data["measurements"]]
    run_notes = data.get("run_notes")
    if run_notes is None:  # a results.json from before run_notes existed
        run_notes = [n for n in data.get("notes", []) if not n.startswith(("inventory, where", "inventory baseline:"))]
    data["rows"] = summarize(measurements)
    data["notes"] = list(run_notes) + inventory_notes(data["rows"]) + trust_notes(measurements, data["settings"])
    data["floor"] = floor_rows(data["rows"], data.get("floor_inputs") or {}, data.get("startup_s"),
                               data["settings"]["latency_ms"])
    data["targets"] = (target_checks(data["rows"], data["settings"], data["checks"]) + floor_targets(data["floor"])
                       + moonshot_targets(data.get("moonshot") or []))
    with open(os.path.join(out, "results.json"), "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, default=str)
    with open(os.path.join(out, "results.md"), "w", encoding="utf-8") as handle:
        handle.write(markdown(data))
    return data


class CallSampler(BackgroundSampler):
    """Samples /_sim/calls while a playbook runs, for the per-poll-interval call rate."""

    def __init__(self, sim: SimulatorProcess, interval: float = 0.25) -> None:
        self.sim = sim
        self.samples: list[tuple[float, dict[str, dict[str, int]]]] = []
        super().__init__(interval)

    def sample(self) -> None:
        try:
            self.samples.append((time.monotonic(), region_op_counts(self.sim.calls())))
        except OSError:
            pass

    def max_in_window(self, operation: str, window: float) -> dict[str, int]:
        """Per region, the most `operation` calls seen between two samples at most `window` seconds apart.

        Calls between two samples taken t <= window apart happened within a window of length `window`,
        so a region polled at most once per window never shows more than 1 here. The first samples hold
        the up-front reads (the paginated DescribeDBInstances of the plan), not polls, so counting starts
        after the first ModifyDBInstance of the region.
        """
        out: dict[str, int] = {}
        regions = set()
        for _t, counts in self.samples:
            regions.update(counts)
        for region in regions:
            series = [(t, c.get(region, {}).get(operation, 0), c.get(region, {}).get("ModifyDBInstance", 0))
                      for t, c in self.samples]
            started = [i for i, (_t, _n, mods) in enumerate(series) if mods > 0]
            if not started:
                continue
            # from the sample just before the first modify was seen
            series = series[max(0, started[0] - 1):]
            best = 0
            j = 0
            for i in range(len(series)):
                while j < i and series[i][0] - series[j][0] > window:
                    j += 1
                best = max(best, series[i][1] - series[j][1])
            out[region] = best
        return out


# ---------------------------------------------------------------------------------------------
# Expectations, summaries, report
# ---------------------------------------------------------------------------------------------

def restart_map() -> dict[tuple[str, str], bool]:
    from tests.simulator.catalog import BUILTIN_ENGINE_VERSIONS
    return {(ev.engine, ev.version): not ev.rotation_without_restart for ev in BUILTIN_ENGINE_VERSIONS}


def expected_inventory(fleet: dict[str, Any]) -> dict[str, Any]:
    restart = restart_map()
    instances = fleet_instances(fleet)
    flags = [restart.get((i["engine"], i["engine_version"])) for i in instances]
    return {"databases": len(instances),
            "by_restart": {"restart": sum(1 for f in flags if f is True),
                           "no_restart": sum(1 for f in flags if f is False),
                           "unknown": sum(1 for f in flags if f is None)}}


def answer_matches(answer: dict[str, Any] | None, expected: dict[str, Any]) -> bool:
    if not answer:
        return False
    return (answer.get("databases") == expected["databases"]
            and all(answer.get("by_restart", {}).get(k) == v for k, v in expected["by_restart"].items()))


def inventory_call_bound(fleet: dict[str, Any]) -> dict[str, int]:
    """Per region: ceil(n_r/100) pages + 5 + one DescribeDBEngineVersions per distinct engine (the target)."""
    bound = {}
    for region, data in fleet["regions"].items():
        count = sum(s.get("count", 1) for s in data["instances"])
        engines = {s["engine"] for s in data["instances"]}
        bound[region] = math.ceil(count / 100) + 5 + len(engines)
    return bound


def floor_critical_calls(fleet: dict[str, Any]) -> dict[str, int]:
    """Per region, the fewest API round trips on the critical path of any inventory of that region.

    DescribeDBInstances pages (100 a page) are sequential (each needs the previous page's marker); the
    engine-version lookups need the instances' versions first, but can all go out at once (one round trip);
    DescribeDBClusters and DescribeCertificates can overlap the instance pages. So: ceil(n_r/100) + 1.
    """
    out = {}
    for region, data in fleet["regions"].items():
        count = sum(s.get("count", 1) for s in data["instances"])
        out[region] = max(1, math.ceil(count / 100)) + 1
    return out


def floor_rows(rows: list[dict[str, Any]], inputs: dict[str, dict[str, int]], startup_s: float | None,
               latency_ms: float) -> list[dict[str, Any]]:
    """The floor of the inventory at each N, and how far rds_ca_facts (and the competent playbook) is from it.

    floor = Ansible's start-up (noop.yml) + the critical path, which is the larger of
      - the slowest region's round trips x latency plus its share of the simulator's CPU, and
      - all the simulator's CPU (moto serves every region in one Python process, so its CPU adds up),
    where the simulator's CPU is what it spent serving rds_ca_facts' run (the same answers). What is left of
    rds_ca_facts' wall time above the floor is the module's own cost (and Ansible's, beyond a no-op play).
    """
    if startup_s is None:
        return []
    out = []
    by_key = {(r["n"], r["variant"]): r for r in rows if r["scenario"] == "inventory"}
    for n_text, per_region in sorted(inputs.items(), key=lambda kv: int(kv[0])):
        n = int(n_text)
        ours = by_key.get((n, "rdsca")) or by_key.get((n, "rdsca-summary"))
        if not ours or not per_region:
            continue
        summary = by_key.get((n, "rdsca-summary"))
        total_trips = sum(per_region.values())
        sim_cpu = ours["sim_cpu_s"]
        region_path = max(trips * latency_ms / 1000.0 + sim_cpu * trips / total_trips
                          for trips in per_region.values())
        critical = max(region_path, sim_cpu)
        floor = startup_s + critical
        competent = by_key.get((n, "competent"))
        out.append({
            "n": n, "floor_s": floor, "startup_s": startup_s, "critical_path_s": critical,
            "latency_path_s": max(per_region.values()) * latency_ms / 1000.0, "sim_cpu_s": sim_cpu,
            "rdsca_s": ours["wall_median_s"], "rdsca_vs_floor": ours["wall_median_s"] / floor,
            "module_own_s": ours["wall_median_s"] - floor,
            "competent_s": competent["wall_median_s"] if competent else None,
            "competent_vs_floor": competent["wall_median_s"] / floor if competent else None,
            "variant": ours["variant"],
            "summary_s": summary["wall_median_s"] if summary else None,
            "summary_vs_floor": summary["wall_median_s"] / floor if summary else None,
        })
    return out


def floor_targets(floor: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue #20's goals at the largest N: >= 3x the competent amazon.aws playbook, <= 1.5x the floor."""
    full = [f for f in floor if f.get("variant", "rdsca") == "rdsca"]
    if not full:
        return []
    # issue 20 names N=5,000: the largest N where the default detail and the competent playbook both ran
    big = ([f for f in full if f["competent_s"]] or full)[-1]
    out = []
    if big["competent_s"]:
        ratio = big["competent_s"] / big["rdsca_s"]
        out.append({"target": f"inventory (default detail) >= 3x faster than the competent amazon.aws playbook "
                              f"at N={big['n']:,}",
                    "value": f"{ratio:.1f}x ({big['competent_s']:.1f} s vs {big['rdsca_s']:.1f} s)"
                             + ("" if ratio >= 3 else f"; missed by {3 / ratio:.2f}x (needs <= "
                                                      f"{big['competent_s'] / 3:.1f} s)"),
                    "ok": ratio >= 3})
        if big.get("summary_s"):
            ratio = big["competent_s"] / big["summary_s"]
            out.append({"target": f"inventory with `detail: summary` + output_file >= 3x faster than the competent "
                                  f"playbook at N={big['n']:,}",
                        "value": f"{ratio:.1f}x ({big['competent_s']:.1f} s vs {big['summary_s']:.1f} s)"
                                 + ("" if ratio >= 3 else f"; missed by {3 / ratio:.2f}x"),
                        "ok": ratio >= 3})
    out.append({"target": f"inventory (default detail) within 1.5x of the floor at N={big['n']:,}",
                "value": f"{big['rdsca_vs_floor']:.2f}x ({big['rdsca_s']:.1f} s vs floor {big['floor_s']:.1f} s: "
                         f"start-up {big['startup_s']:.1f} s + critical path {big['critical_path_s']:.1f} s)"
                         + ("" if big["rdsca_vs_floor"] <= 1.5 else
                            f"; missed by {big['rdsca_vs_floor'] / 1.5:.2f}x (needs <= {big['floor_s'] * 1.5:.1f} s)"),
                "ok": big["rdsca_vs_floor"] <= 1.5})
    for f in floor:
        if f.get("summary_s") is not None and (f["n"] == big["n"] or f.get("variant") == "rdsca-summary"):
            out.append({"target": f"inventory with `detail: summary` + output_file within 1.5x of the floor at "
                                  f"N={f['n']:,}",
                        "value": f"{f['summary_vs_floor']:.2f}x ({f['summary_s']:.1f} s vs floor {f['floor_s']:.1f} s)"
                                 + ("" if f["summary_vs_floor"] <= 1.5 else
                                    f"; missed by {f['summary_vs_floor'] / 1.5:.2f}x"),
                        "ok": f["summary_vs_floor"] <= 1.5})
    return out


def moonshot_targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue 20's moonshot: the audit under 2 minutes, the rotation inside the window, zero unplanned restarts."""
    out = []
    for r in rows:
        where = f"{r['n']:,} databases in {r['accounts']} accounts x {r['regions']} regions"
        if r.get("audit_s") is not None:
            out.append({"target": f"moonshot: {where} audited in under 2 minutes (measured)",
                        "value": f"{r['audit_s']:.1f} s", "ok": r["audit_s"] < 120})
        if r.get("rotate_modelled_s") is not None:
            measured = r.get("rotate_measured_n", r["n"])
            out.append({"target": f"moonshot: {where} rotated inside one {r['window_h']:g}-hour maintenance window "
                                  "under RDS-like transition times (MODELLED from a compressed run"
                                  + (f" of {measured:,}, scaled by waves)" if measured != r["n"] else ")"),
                        "value": f"{r['rotate_modelled_s'] / 60:.0f} min with concurrency {r['concurrency']} "
                                 f"(measured {r['rotate_wall_s']:.0f} s at 1/{1 / r['compression']:.0f})"
                                 + ("" if r["rotate_modelled_s"] <= r["window_h"] * 3600 else
                                    f"; over the window by {r['rotate_modelled_s'] / 3600 - r['window_h']:.1f} h")
                                 + ("" if not _cpu_model_applies(r) else
                                    f"; {r['rotate_modelled_cpu_s'] / 60:.0f} min when the {r['rotate_cpu_s']:.0f} s of "
                                    "CPU (playbook tree + simulator) are taken as real time, not stretched"),
                        "ok": r["rotate_modelled_s"] <= r["window_h"] * 3600, "extrapolated": True})
        if r.get("unplanned_restarts") is not None:
            out.append({"target": "moonshot: zero unplanned restarts (simulator events)",
                        "value": f"{r['unplanned_restarts']} unplanned, {r['restarted_twice']} restarted twice; "
                                 f"{r['restarted']} restarts for {r['planned_restarts']} databases that need one",
                        "ok": r["unplanned_restarts"] == 0 and r["restarted_twice"] == 0})
    return out


def baseline_sample(instances: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """k instances spread over regions and over restart / no-restart versions (deterministic)."""
    rng = random.Random(42)
    pool = list(instances)
    rng.shuffle(pool)
    chosen: list[dict[str, Any]] = []
    kinds = [(r, flag) for flag in (True, False) for r in sorted({i["region"] for i in pool})]
    while len(chosen) < min(k, len(pool)):
        for region, flag in kinds:
            if len(chosen) >= k:
                break
            for inst in pool:
                if inst not in chosen and inst["region"] == region and inst["restart"] is flag:
                    chosen.append(inst)
                    break
        else:
            continue
    return chosen[:k]


def parse_answer(log_path: str) -> Any:
    """The BENCH_ANSWER={...} a playbook's last debug task printed (JSON inside the msg string)."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                line = line.strip()
                if line.startswith('"msg": "') and "BENCH_ANSWER=" in line:
                    msg = json.loads(line[len('"msg": '):])
                    return json.loads(msg.split("BENCH_ANSWER=", 1)[1].strip())
    except (OSError, ValueError):
        pass
    return None


def read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def summarize(measurements: list[Measurement]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, int, str], list[Measurement]] = {}
    for m in measurements:
        if m.variant == "baseline-sample":
            continue
        groups.setdefault((m.scenario, m.n, m.variant), []).append(m)
    rows = []
    for (scenario, n, variant), ms in groups.items():
        ok = [m for m in ms if m.rc == 0] or ms
        walls = [m.wall_s for m in ok]
        calls = [m.api_calls for m in ok if m.api_calls is not None]
        row = {
            "scenario": scenario, "n": n, "variant": variant, "runs": len(ok), "failed_runs": len(ms) - len(ok) if
            any(m.rc == 0 for m in ms) else len(ms),
            "wall_median_s": statistics.median(walls), "wall_min_s": min(walls), "wall_max_s": max(walls),
            "api_calls": int(statistics.median(calls)) if calls else None,
            "max_rss_mb": max(m.max_rss_mb for m in ok), "tree_rss_mb": max(m.tree_rss_mb for m in ok),
            "module_hwm_mb": max(m.module_hwm_mb for m in ok),
            "controller_hwm_mb": max(m.controller_hwm_mb for m in ok),
            "sim_cpu_s": statistics.median([m.sim_cpu_s for m in ok]),
            "extrapolated": any(m.extra.get("extrapolated") for m in ok),
            "changed": [m.extra.get("changed") for m in ok] if scenario == "trust" else None,
        }
        rows.append(row)
    # The inventory baseline where it was not run: a least-squares line through the sizes where it was.
    measured = sorted((r["n"], r) for r in rows if r["scenario"] == "inventory" and r["variant"] == "baseline")
    wall_fit = fit_line([(n, r["wall_median_s"]) for n, r in measured])
    calls_fit = fit_line([(n, r["api_calls"]) for n, r in measured if r["api_calls"] is not None])
    # (only where the default-detail rds_ca_facts ran: the summary-only sizes, 10,000, have no baseline)
    for n in sorted({r["n"] for r in rows if r["scenario"] == "inventory" and r["variant"] == "rdsca"}
                    - {n for n, _r in measured}):
        if wall_fit and calls_fit:
            wall = wall_fit[0] + wall_fit[1] * n
            rows.append({"scenario": "inventory", "n": n, "variant": "baseline", "runs": 0, "failed_runs": 0,
                         "wall_median_s": wall, "wall_min_s": wall, "wall_max_s": wall,
                         "api_calls": int(round(calls_fit[0] + calls_fit[1] * n)), "max_rss_mb": None,
                         "tree_rss_mb": None, "module_hwm_mb": None, "controller_hwm_mb": None,
                         "sim_cpu_s": float("nan"), "extrapolated": True, "changed": None,
                         "fit": {"from_n": [m for m, _r in measured], "wall_r2": wall_fit[2]}})
    order = {"inventory": 0, "rotate": 1, "rotate-realistic": 2, "moonshot-audit": 3, "moonshot-rotate": 4,
             "trust": 5}
    vorder = {"rdsca": 0, "rdsca-summary": 1, "competent": 2, "baseline": 3, "first": 0, "second": 1}
    rows.sort(key=lambda r: (order.get(r["scenario"], 9), r["n"], vorder.get(r["variant"], 9)))
    # ratio to the baseline (the baseline's median wall time / this one's); trust: second vs first
    by_key = {(r["scenario"], r["n"], r["variant"]): r for r in rows}
    for r in rows:
        # inventory: the competent amazon.aws playbook is the primary comparison, the naive loop the second
        ref = {"trust": "first", "inventory": "competent"}.get(r["scenario"], "baseline")
        base = by_key.get((r["scenario"], r["n"], ref))
        r["speedup"] = (base["wall_median_s"] / r["wall_median_s"]) if base and r["wall_median_s"] else None
        r["ratio_ref"] = ref if base and r is not base else None
        r["ratio_ref_extrapolated"] = bool(base and base.get("extrapolated"))
        naive = by_key.get((r["scenario"], r["n"], "baseline")) if r["scenario"] == "inventory" else None
        r["speedup_naive"] = (naive["wall_median_s"] / r["wall_median_s"]) if (
            naive and naive is not r and r["wall_median_s"]) else None
        r["naive_extrapolated"] = bool(naive and naive.get("extrapolated"))
    return rows


def inventory_notes(rows: list[dict[str, Any]]) -> list[str]:
    """Where the inventory's time goes, from the measured rows (the profile has the detail)."""
    notes = []
    ours = sorted((r for r in rows if r["scenario"] == "inventory" and r["variant"] == "rdsca"), key=lambda r: r["n"])
    if ours:
        big = ours[-1]
        notes.append(
            f"inventory, where rds_ca_facts' time goes at N={big['n']:,}: {big['wall_median_s']:.1f} s of wall time, of "
            f"which the simulator process spent {big['sim_cpu_s']:.1f} s of CPU serving {big['api_calls']} calls "
            f"(moto renders a 100-instance DescribeDBInstances page in ~0.15-0.2 s of CPU, one region at a time), "
            f"on the same {os.cpu_count()} cores as the module; profile-inventory-{big['n']}.txt (written by a full "
            f"run, or `profile_inventory.py --n {big['n']}`) has the module's own profile.")
    base = sorted(((r["n"], r["wall_median_s"]) for r in rows
                   if r["scenario"] == "inventory" and r["variant"] == "baseline" and not r["extrapolated"]))
    fit = fit_line(base)
    if fit:
        notes.append(f"inventory baseline: {fit[1]:.2f} s per instance (slope of the fit over N="
                     f"{', '.join(str(n) for n, _wall in base)}; R^2 {fit[2]:.4f}) - one amazon.aws module run "
                     f"(a Python process importing boto3, one API call) per instance, in a serial loop.")
    return notes


# Actions Ansible runs on the controller, without starting a module on the host.
CONTROLLER_ACTIONS = {"ansible.builtin.set_fact", "ansible.builtin.debug", "ansible.builtin.assert",
                      "ansible.builtin.fail", "ansible.builtin.meta", "ansible.builtin.include_tasks",
                      "ansible.builtin.import_tasks", "ansible.builtin.set_stats"}


def module_runs_per_host(log_path: str) -> dict[str, int]:
    """Host -> the ca_trust tasks that started a module on it (ok or changed), from the run's output and the
    role's own task files (controller-only actions and tasks delegated to the controller do not count)."""
    import yaml
    remote = {}
    folder = os.path.join(REPO, "roles", "ca_trust", "tasks")
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            for task in yaml.safe_load(handle) or []:
                action = next(k for k in task if k.startswith(("ansible.", "rdsca.")))
                remote[task["name"]] = action not in CONTROLLER_ACTIONS and task.get("delegate_to") != "localhost"
    try:
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return {}
    counts: dict[str, int] = {}
    for section in re.split(r"^(?=TASK \[|RUNNING HANDLER \[)", text, flags=re.M):
        title = re.match(r"^(TASK|RUNNING HANDLER) \[rdsca\.rotation\.ca_trust : (.*?)\]", section)
        if not title or not (title.group(1) == "RUNNING HANDLER" or remote.get(title.group(2))):
            continue
        for host in re.findall(r"^(?:ok|changed): \[([^\]\s]+)", section, re.M):
            counts[host] = counts.get(host, 0) + 1
    return counts


# Below this many hosts the trust scenario's fixed costs (Ansible's start-up, the controller's bundle check)
# dominate both runs, and the second-run speed-up is reported, not checked.
TRUST_SPEEDUP_MIN_HOSTS = 20


# The debian entry of the ca_trust role's platform table (roles/ca_trust/vars/main.yml), moved under each bench
# host's own directory: update-ca-certificates compiles that host's copy of the system store (anchors, the
# ca-certificates.crt bundle, the hash links), reads the machine's /usr/share/ca-certificates, and runs no hook.
# Given as extra vars (the role's vars/main.yml outranks play vars); templated per host.
_HOST = "{{ bench_trust_root }}/{{ inventory_hostname }}"
SYSTEM_STORE_PLATFORMS = {"debian": {
    "anchors_dir": _HOST + "/usr/local/share/ca-certificates", "suffix": ".crt",
    "trusted_bundle": _HOST + "/etc/ssl/certs/ca-certificates.crt", "package": "ca-certificates",
    "update_command": ["update-ca-certificates", "--certsconf", _HOST + "/etc/ca-certificates.conf",
                       "--localcertsdir", _HOST + "/usr/local/share/ca-certificates",
                       "--etccertsdir", _HOST + "/etc/ssl/certs", "--hooksdir", _HOST + "/etc/ca-certificates/update.d"]}}


def debian_system_store() -> bool:
    """Whether each bench host can have a system trust store of its own (Debian's update-ca-certificates)."""
    return bool(shutil.which("update-ca-certificates") and os.path.exists("/etc/debian_version")
                and os.path.isdir("/etc/ssl/certs") and os.path.isfile("/etc/ca-certificates.conf"))


def java_cacerts() -> str | None:
    """The JDK's trust store on this machine (a fresh host's Java keystore), when keytool is installed too."""
    if not shutil.which("keytool"):
        return None
    for path in ("/etc/ssl/certs/java/cacerts", os.path.join(os.environ.get("JAVA_HOME", "/nonexistent"), "lib", "security", "cacerts")):
        if os.path.isfile(path):
            return path
    return None


def trust_notes(measurements: list[Measurement], settings: dict[str, Any]) -> list[str]:
    """What each host runs, first run and second run (module runs per host, from the output)."""
    by_variant: dict[str, list[Measurement]] = {}
    for m in measurements:
        if m.scenario == "trust" and m.rc == 0 and m.extra.get("recap"):
            by_variant.setdefault(m.variant, []).append(m)
    if not by_variant.get("first") or not by_variant.get("second"):
        return []

    def per_host(variant: str, key: str) -> float:
        return statistics.median(v.get(key, 0) for m in by_variant[variant] for v in m.extra["recap"].values())

    hosts = by_variant["first"][0].n
    executed = per_host("first", "ok")
    skipped = per_host("second", "skipped")
    changed = per_host("first", "changed")
    first_wall = statistics.median(m.wall_s for m in by_variant["first"])
    second_wall = statistics.median(m.wall_s for m in by_variant["second"])
    java = ("the JDK's cacerts with one keytool import of every RDS CA per host (one JVM start)"
            if any(m.extra.get("java") for m in by_variant["first"]) else "no Java keystore (no JDK on this machine)")
    system = (", and compiles each host's system store (update-ca-certificates on the host's copy)"
              if any(m.extra.get("system_store") for m in by_variant["first"]) else ", no system store (off here)")
    forks = settings.get("forks", 1)

    def module_runs(variant: str) -> float | None:
        runs = [n for m in by_variant[variant] for n in (m.extra.get("module_runs_per_host") or {}).values()]
        return statistics.median(runs) if runs else None

    first_runs, second_runs = module_runs("first"), module_runs("second")
    facts = ("every store of the host in one rds_ca_trust_store run, which also reads the distribution facts that "
             "choose the system store: no separate fact gathering"
             if any(m.extra.get("system_store") for m in by_variant["first"])
             else "the distribution facts, then every store of the host in one rds_ca_trust_store run")
    if first_runs is None or second_runs is None:
        return []
    return [f"trust, what each host runs: {first_runs:.0f} module run(s) per host on the first run and "
            f"{second_runs:.0f} on the second ({facts}; the bundle is validated once, on the controller, and its "
            f"certificates kept once for every host). {executed:.0f} tasks per host in the recap (ok), "
            f"{changed:.0f} changed on the first run; the others are the role's argument check, set_fact and assert, which run on the "
            f"controller; {skipped:.0f} skipped per host on the second run (the conditional includes: facts and packages, Windows, "
            f"verification), each of which still costs the host a worker process. First run {first_wall:.1f} s, second {second_wall:.1f} s "
            f"({first_wall / max(second_wall, 1e-9):.1f}x) for {hosts} hosts with {forks} forks on {os.cpu_count()} "
            f"cores: the first run writes every store, {java}{system}; the second changes nothing (changed=0) and "
            f"reads each store in Python, the Java keystore included (no JVM starts; keytool only runs to change it), "
            f"and compiles nothing."]


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float, float] | None:
    """Least squares y = a + b x; returns (a, b, r2)."""
    if len(points) < 2:
        return None
    xs, ys = zip(*points)
    mx, my = statistics.mean(xs), statistics.mean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    b = sum((x - mx) * (y - my) for x, y in points) / sxx
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - a - b * x) ** 2 for x, y in points)
    return a, b, (1 - ss_res / ss_tot) if ss_tot else 1.0


def target_checks(rows: list[dict[str, Any]], settings: dict[str, Any],
                  checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    inv = {(r["n"], r["variant"]): r for r in rows if r["scenario"] == "inventory"}
    sizes = sorted({n for n, v in inv if v == "rdsca"})  # the summary-only sizes (10,000) are reported apart
    if sizes:
        big = sizes[-1]
        ours, base = inv.get((big, "rdsca")), inv.get((big, "baseline"))
        if ours and base:
            ratio = base["wall_median_s"] / ours["wall_median_s"]
            how = ""
            if base["extrapolated"]:
                how = (f" (baseline EXTRAPOLATED from N={', '.join(str(n) for n in base['fit']['from_n'])}, "
                       f"R^2 {base['fit']['wall_r2']:.4f})")
            out.append({"target": f"inventory >= 10x faster than the naive amazon.aws loop at N={big:,}{how}",
                        "value": f"{ratio:.0f}x ({base['wall_median_s']:.0f} s vs {ours['wall_median_s']:.1f} s)",
                        "ok": ratio >= 10, "extrapolated": base["extrapolated"]})
        elif ours:
            out.append({"target": f"inventory >= 10x faster than the naive amazon.aws loop at N={big:,}",
                        "value": "baseline not measured at two sizes or more, nothing to extrapolate from",
                        "ok": None})
        if big >= 5000 and ours:
            out.append({"target": f"inventory peak memory at N={big:,} < 300 MB, module and controller",
                        "value": f"module {ours['module_hwm_mb']:.0f} MB, controller {ours['controller_hwm_mb']:.0f} MB",
                        "ok": ours["module_hwm_mb"] < 300 and ours["controller_hwm_mb"] < 300})
    for (n, variant), r in sorted(inv.items()):
        if variant == "rdsca-summary":
            out.append({"target": f"inventory with `detail: summary` + output_file at N={n:,}: peak memory < 300 MB, "
                                  "module and controller",
                        "value": f"module {r['module_hwm_mb']:.0f} MB, controller {r['controller_hwm_mb']:.0f} MB; "
                                 f"wall {r['wall_median_s']:.1f} s",
                        "ok": r["module_hwm_mb"] < 300 and r["controller_hwm_mb"] < 300})
    fit_calls = fit_line([(n, inv[(n, "rdsca")]["api_calls"]) for n in sizes if (n, "rdsca") in inv])
    fit_wall = fit_line([(n, inv[(n, "rdsca")]["wall_median_s"]) for n in sizes if (n, "rdsca") in inv])
    if fit_calls and fit_wall and len(sizes) >= 3:
        out.append({"target": "inventory cost linear in N (least-squares fit over the sizes)",
                    "value": f"API calls = {fit_calls[0]:.1f} + {fit_calls[1] * 100:.2f} per 100 instances "
                             f"(R^2 {fit_calls[2]:.4f}); wall = {fit_wall[0]:.2f} s + "
                             f"{fit_wall[1] * 1000:.2f} s per 1,000 instances (R^2 {fit_wall[2]:.3f})",
                    "ok": fit_calls[2] > 0.99 and fit_wall[2] > 0.95})
    rot = {r["variant"]: r for r in rows if r["scenario"] == "rotate"}
    for key, label in (("API calls per region", "inventory API calls per region <= ceil(n_r/100) + 5 + distinct "
                                                "engines, at every N"),
                       ("DescribeDBInstances per region per poll", "rotation: <= 1 DescribeDBInstances per region "
                                                                   "per poll interval while waiting, every run")):
        relevant = [c for c in checks if key in c["check"]]
        if relevant:
            out.append({"target": label, "value": "; ".join(c["detail"] for c in relevant[-2:]),
                        "ok": all(c["ok"] for c in relevant)})
    if "rdsca" in rot and "baseline" in rot:
        ratio = rot["baseline"]["wall_median_s"] / rot["rdsca"]["wall_median_s"]
        out.append({"target": f"rotation of {settings['rotate_n']} >= 10x faster than the baseline loop",
                    "value": f"{ratio:.1f}x (baseline extrapolated from a sample, see notes)", "ok": ratio >= 10,
                    "extrapolated": True})
    return out


def _cpu_model_applies(r: dict) -> bool:
    """The second moonshot model (CPU taken as real time, only the waiting stretched) separates work from waiting
    only when the CPU spent fits in the wall time: CPU summed over processes on 2 cores can exceed it, and then the
    compressed run was CPU-bound and says nothing about what would not stretch (the conservative model stands)."""
    return r.get("rotate_modelled_cpu_s") is not None and r.get("rotate_cpu_s", 0) < r.get("rotate_wall_s", 0)


def rotation_model(per_item: float, a: argparse.Namespace) -> str:
    """Where the rotation ratio comes from, and what it would be with RDS's real transition times (a model)."""
    overhead = max(0.0, per_item - 60.0)
    head = (f"rotate, why the ratio is what it is: amazon.aws.rds_instance waits with botocore's waiter at a fixed "
            f"60-s Delay (amazon.aws module_utils/rds.py, WaiterConfig Delay 60), so each instance costs at least "
            f"60 s plus ~{overhead:.1f} s of module and API overhead, however short its change; the simulator's "
            f"{a.modify_seconds:g}+{a.reboot_seconds:g} s transitions (time compressed to keep the run short) "
            f"therefore flatter the collection. A model with RDS-like transition times T (not measured): baseline "
            f"~ N x (60 x ceil(T/60) + {overhead:.1f}) s; rds_ca_rotate ~ ceil(N/max_concurrent) x (T + 15) s with "
            f"its default poll_interval 15 s:")
    n, c = a.rotate_n, a.max_concurrent
    cases = []
    for t in (120, 300, 600):
        base = n * (60 * math.ceil(t / 60) + overhead)
        ours = math.ceil(n / c) * (t + 15)
        cases.append(f"T={t // 60} min: {base / 3600:.1f} h vs {ours / 60:.0f} min, ~{base / ours:.0f}x")
    return head + " " + "; ".join(cases) + "."


def estimate_minutes(a: argparse.Namespace) -> dict[str, float]:
    """A rough wall-time estimate per scenario (minutes), from the 2026-11/12 runs on 2 quiet cores."""
    out: dict[str, float] = {}
    sc = a.scenarios
    if "inventory" in sc:
        total = 10.0
        for n in sorted(set(a.sizes) | set(a.summary_sizes)):
            ours = 1.3 + 2.2 * n / 1000
            total += 0.3 * n / 100 + ours            # seeding and the warm-up run
            if n in a.sizes:
                total += a.runs * ours
                if n <= a.competent_max_n:
                    total += a.runs * (8 + 11.5 * n / 1000)
                if n <= a.baseline_max_n:
                    total += (a.runs if n <= a.baseline_full_runs_max_n else 1) * (1.5 + 0.58 * n)
            if n in a.summary_sizes or n in a.summary_at:
                total += a.runs * ours
        if not a.no_profile and not a.quick:
            total += 90
        out["inventory"] = total / 60
    if "rotate" in sc:
        per = math.ceil(a.rotate_n / a.max_concurrent) * (a.modify_seconds + a.reboot_seconds + 2 * a.poll_interval)
        out["rotate"] = (a.runs * (per + 10) + 20 + a.rotate_baseline_sample * 66) / 60
    if "realistic" in sc:
        out["realistic"] = (10 + math.ceil(a.rotate_n / a.max_concurrent) * 480 * a.time_compression) / 60
    if "moonshot" in sc:
        k = a.moonshot_rotate_n or a.moonshot_n
        out["moonshot"] = (0.3 * a.moonshot_n / 100 + a.runs * (3 + 4 * a.moonshot_n / 1000)
                           + 20 + math.ceil(k / a.moonshot_concurrency) * 480 * a.moonshot_compression * 1.5) / 60
    if "trust" in sc:
        out["trust"] = a.runs * (1.6 * a.trust_hosts + 20) / 60
    return out


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in vars(args).items() if k not in ("out",)}


def _version(module: str) -> str:
    try:
        from importlib.metadata import version
        return version(module)
    except Exception:  # pylint: disable=broad-except
        return "?"


def machine_info() -> dict[str, Any]:
    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    amazon_aws = "?"
    try:  # located, not imported: this process stays small (see simulator_credentials)
        import importlib.util
        spec = importlib.util.find_spec("ansible")
        site = os.path.dirname(list(spec.submodule_search_locations)[0])
        with open(os.path.join(site, "ansible_collections", "amazon", "aws", "MANIFEST.json"), encoding="utf-8") as handle:
            amazon_aws = json.load(handle)["collection_info"]["version"]
    except Exception:  # pylint: disable=broad-except
        pass
    commit = "?"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, check=False).stdout.strip()
        commit += " (+ uncommitted changes)" if dirty else ""
    except OSError:
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_gb, 1),
        "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
        "ansible_core": _version("ansible-core"), "amazon_aws": amazon_aws, "boto3": _version("boto3"),
        "moto": _version("moto"), "load_before": os.getloadavg(), "commit": commit,
        "nice": os.nice(0),   # the bench's priority (a full run is started at high priority, other work low)
    }


def _fmt_mb(x: float | None) -> str:
    return "—" if x is None else f"{x:.0f}"


def _fmt_s(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def markdown(data: dict[str, Any]) -> str:
    s = data["settings"]
    m = data["machine"]
    lines = [
        "# Benchmark results: rdsca.rotation vs amazon.aws",
        "",
        f"Run {data['started'][:19]}Z, {data['duration_s'] / 60:.1f} min, by `benchmarks/run.py` "
        f"(`make bench`); every number comes from the runs in `results.json`."
        + (" **Quick smoke run (`BENCH_QUICK=1`): small sizes, one run each; not the benchmark's result.**"
           if s.get("quick") else ""),
        "",
        f"**Machine:** {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GiB, {m['os']}; Python {m['python']}, "
        f"ansible-core {m['ansible_core']}, amazon.aws {m['amazon_aws']}, boto3 {m['boto3']}, moto {m['moto']}; "
        f"commit {m['commit']}; bench niceness {m.get('nice', '?')}. Load average before {fmt_load(m['load_before'])}, after "
        f"{fmt_load(m.get('load_after'))} (before: other work on the machine, which inflates the times; after: "
        f"mostly the benchmark's own last scenario).",
        "",
        f"**Settings:** simulator latency {s['latency_ms']:g} ms per API call (every operation); "
        f"{s['regions']} regions; {s['runs']} run(s) per point; rotation: {s['rotate_n']} instances, "
        f"`max_concurrent` {s['max_concurrent']}, `poll_interval` {s['poll_interval']:g} s, simulated modify "
        f"{s['modify_seconds']:g} s + reboot {s['reboot_seconds']:g} s; trust: {s['trust_hosts']} hosts, "
        f"{s['forks']} forks. `ANSIBLE_PIPELINING=1` on both sides.",
        "",
        "| scenario | N | variant | wall median (s) | min–max (s) | runs | API calls | peak RSS module (MB) "
        "| peak RSS controller (MB) | simulator CPU (s) | vs competent amazon.aws | vs naive loop |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = {"rdsca": "rdsca.rotation", "rdsca-summary": "rdsca.rotation, `detail: summary` + output_file (JSON Lines)",
             "competent": "amazon.aws, competent (regions async, versions once)",
             "baseline": "amazon.aws baseline", "first": "first run", "second": "second run"}
    for r in data["rows"]:
        label = names.get(r["variant"], r["variant"])
        if r["scenario"] == "inventory" and r["variant"] == "baseline":
            label = "amazon.aws, naive (versions once per instance, serial)"
        if r["extrapolated"] and r.get("fit"):
            label += (f" (extrapolated\u2020 from N={', '.join(str(n) for n in r['fit']['from_n'])}, "
                      f"R\u00b2 {r['fit']['wall_r2']:.4f})")
        elif r["extrapolated"]:
            label += " (extrapolated\u2020)"
        if r["scenario"] == "trust" and r.get("changed") is not None:
            label += f", changed {'/'.join(str(c) for c in r['changed'])}"
        speed = ""
        if r.get("speedup") and r.get("ratio_ref"):
            speed = f"{r['speedup']:.1f}\u00d7 faster" if r["speedup"] >= 1 else f"{1 / r['speedup']:.1f}\u00d7 slower"
            if r["scenario"] == "trust":
                speed = f"{r['speedup']:.2f}\u00d7 of first"
            elif r.get("ratio_ref_extrapolated"):
                speed += " (vs extrapolated\u2020)"
        rng = "—" if r["extrapolated"] else f"{_fmt_s(r['wall_min_s'])}–{_fmt_s(r['wall_max_s'])}"
        runs = "—" if r["extrapolated"] else str(r["runs"]) + (f" ({r['failed_runs']} failed)" if r["failed_runs"] else "")
        calls = "—" if r["api_calls"] is None else f"{r['api_calls']:,}"
        sim_cpu = "—" if r["sim_cpu_s"] != r["sim_cpu_s"] else f"{r['sim_cpu_s']:.1f}"
        naive = ""
        if r.get("speedup_naive"):
            naive = f"{r['speedup_naive']:.1f}\u00d7 faster" + (" (vs extrapolated\u2020)" if r.get("naive_extrapolated")
                                                                else "")
        if r["scenario"] == "rotate":  # the rotation has one baseline, the loop: it goes in the naive column
            speed, naive = "", speed
        lines.append(f"| {r['scenario']} | {r['n']:,} | {label} | {_fmt_s(r['wall_median_s'])} | {rng} | {runs} | "
                     f"{calls} | {_fmt_mb(r['module_hwm_mb'])} | {_fmt_mb(r['controller_hwm_mb'])} | {sim_cpu} | "
                     f"{speed} | {naive} |")
    if data.get("floor"):
        lines += ["", "## The floor (inventory)", "",
                  f"Ansible's start-up (`noop.yml`, one debug task): {data['startup_s']:.2f} s. The floor at each N is "
                  "that start-up plus the critical path: the slowest region's unavoidable round trips "
                  "(ceil(n_r/100) DescribeDBInstances pages one after another, then the engine versions at once) "
                  "times the latency plus its share of the simulator's CPU, or all of the simulator's CPU when that "
                  "is larger (moto serves every region in one Python process). *Module's own* is rds_ca_facts' "
                  "wall time above the floor.", "",
                  "| N | floor (s) | of which start-up | API latency on the critical path | simulator CPU "
                  "| rdsca.rotation (s) | × floor | module's own (s) | `detail: summary` (s) | × floor "
                  "| competent amazon.aws (s) | × floor |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for f in data["floor"]:
            comp = "—" if f["competent_s"] is None else _fmt_s(f["competent_s"])
            comp_x = "—" if f["competent_vs_floor"] is None else f"{f['competent_vs_floor']:.2f}"
            full = f.get("variant", "rdsca") == "rdsca"
            summ = "—" if f.get("summary_s") is None else _fmt_s(f["summary_s"])
            summ_x = "—" if f.get("summary_vs_floor") is None else f"{f['summary_vs_floor']:.2f}"
            ours = _fmt_s(f["rdsca_s"]) if full else "— (summary only)"
            ours_x = f"{f['rdsca_vs_floor']:.2f}" if full else "—"
            lines.append(f"| {f['n']:,} | {_fmt_s(f['floor_s'])} | {_fmt_s(f['startup_s'])} | "
                         f"{_fmt_s(f['latency_path_s'])} | {_fmt_s(f['sim_cpu_s'])} | {ours} | {ours_x} | "
                         f"{_fmt_s(f['module_own_s'])} | {summ} | {summ_x} | {comp} | {comp_x} |")
    if data.get("realistic"):
        lines += ["", "## Rotation with RDS-like transition times (modelled)", "",
                  "The simulator draws each transition from RDS's minutes (modifying 2-6 min, rebooting 1-3 min; "
                  "tests/simulator/catalog.py REALISTIC_MINUTES) times a compression factor, and rds_ca_rotate polls "
                  "at its default poll_interval (15 s) times the same factor. Real time = start-up + (measured - "
                  "start-up) / factor: conservative, since the API latency and Ansible's own work are scaled up too. "
                  "Larger N: the measured run scaled by the number of waves (ceil(N / max_concurrent)).", "",
                  "| N | max_concurrent | factor | poll_interval (compressed) | measured wall (s) "
                  "| modelled real time |",
                  "|---:|---:|---:|---:|---:|---:|"]
        for r in data["realistic"]:
            wall = "—" if r["wall_s"] is None else _fmt_s(r["wall_s"])
            how = "" if r["measured"] else f" (from N={r['from_n']:,})"
            lines.append(f"| {r['n']:,} | {r['max_concurrent']} | 1/{1 / r['compression']:.0f} | "
                         f"{r['poll_interval_s']:.2f} s | {wall} | {r['modelled_s'] / 60:.0f} min{how} |")
    for r in data.get("moonshot") or []:
        lines += ["", f"## The moonshot: {r['n']:,} databases in {r['accounts']} accounts x {r['regions']} regions", "",
                  "One estate of several accounts (the caller's own and others reached with sts:AssumeRole, "
                  "`accounts` + `role_name`), every database on rds-ca-2019, with the realistic scenario's RDS-like "
                  "transition times. **Measured:** the audit (rds_ca_facts over every account and region, real time, "
                  f"median of the runs) and the rotation under time compression 1/{1 / r['compression']:.0f} "
                  "(transitions, API latency and poll_interval all times the factor). **Modelled:** real rotation "
                  "time = start-up + (measured wall - start-up) / factor - conservative, since the simulator's CPU "
                  "and Ansible's own work are scaled up too"
                  + (f"; rotation measured on {r.get('rotate_measured_n'):,} of the {r['n']:,} databases, then scaled "
                     f"by waves (ceil(N / concurrency): x{r.get('waves_scale', 1):.2f})"
                     if r.get("rotate_measured_n") not in (None, r["n"]) else "")
                  + ". Restarts are counted from the simulator's own DB_INSTANCE_RESTARTED events.", "",
                  "| audit (s, measured) | rotation wall (s, measured, compressed) | concurrency "
                  "| rotation, modelled real time | window | restarted / needing a restart | rotated without restart "
                  "| unplanned restarts |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        audit = "—" if r.get("audit_s") is None else _fmt_s(r["audit_s"])
        wall = "—" if r.get("rotate_wall_s") is None else _fmt_s(r["rotate_wall_s"])
        modelled = "—" if r.get("rotate_modelled_s") is None else f"{r['rotate_modelled_s'] / 60:.0f} min"
        if _cpu_model_applies(r):
            modelled += (f" ({r['rotate_modelled_cpu_s'] / 60:.0f} min if the {r['rotate_cpu_s']:.0f} s of CPU the "
                         "playbook and the simulator spent are not stretched)")
        lines.append(f"| {audit} | {wall} | {r['concurrency']} | {modelled} | {r['window_h']:g} h | "
                     f"{r.get('restarted', '?')} / {r.get('planned_restarts', '?')} | {r.get('hot_swaps', '?')} | "
                     f"{r.get('unplanned_restarts', '?')} |")
    lines += ["", "## Targets", ""]
    for t in data["targets"]:
        mark = "n/a" if t["ok"] is None else ("met" if t["ok"] else "**MISSED**")
        lines.append(f"- {t['target']}: {t['value']} — {mark}")
    lines += ["", "## Checks", ""]
    for c in data["checks"]:
        lines.append(f"- {'PASS' if c['ok'] else '**FAIL**'} {c['check']}: {c['detail']}")
    if data["notes"]:
        lines += ["", "## Notes", ""]
        lines += [f"- \u2020 {n}" if "extrapolated" in n else f"- {n}" for n in data["notes"]]
    lines += [
        "", "## How to read this", "",
        "- *wall*: ansible-playbook start to exit, Ansible's own start-up (~1–2 s) included on both sides.",
        "- *API calls*: requests the simulator served during the run (all regions and operations, retries included).",
        "- *peak RSS*: the kernel's high-water mark (`VmHWM`) of each process of the ansible-playbook tree, polled "
        "from /proc every 50 ms; *module*: the largest module process (e.g. rds_ca_facts' Python), *controller*: "
        "the largest ansible-playbook process (main or forked worker). Cross-check in results.json: `max_rss_mb`, "
        "`wait4()`'s `ru_maxrss` of the tree (the largest single process, kernel-accounted, floored by the "
        "harness's own ~30 MB since Linux carries a forked child's pre-exec RSS into it), and `tree_rss_mb`, the "
        "peak of the summed RSS of the live tree (forked workers' shared pages counted in each).",
        "- *simulator CPU*: CPU seconds the simulator process (moto, a separate process) spent serving the run; "
        "it competes for the same cores, so on a 2-core machine it is part of every wall time.",
        "- *vs competent amazon.aws*: the median wall time of what an operator who knows amazon.aws writes "
        "(`competent_inventory.yml`: `rds_instance_info` for all regions at once with `async`, then "
        "`rds_engine_versions_info` once per distinct engine version) divided by this one's - the primary "
        "comparison. *vs naive loop*: the same against `baseline_inventory.yml` (one engine-version lookup per "
        "instance, serially) and, for the rotation, the `amazon.aws.rds_instance` loop; trust: second run vs first.",
        "",
    ]
    return "\n".join(lines)


def fmt_load(load: Any) -> str:
    return "?" if not load else "/".join(f"{x:.2f}" for x in load)


# ---------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", default=quick,
                   help="smoke run: N=100,500, 1 run, small rotation and trust (also BENCH_QUICK=1)")
    p.add_argument("--sizes", help="inventory sizes N (default 100,500,1000,5000; quick: 100,500)")
    p.add_argument("--runs", type=int, help="runs per point (default 3; quick: 1)")
    p.add_argument("--latency-ms", type=float, default=float(os.environ.get("BENCH_LATENCY_MS", 50)),
                   help="latency added to every API call by the simulator (default 50, or BENCH_LATENCY_MS)")
    p.add_argument("--regions", type=int, default=4, choices=range(1, len(REGIONS) + 1))
    p.add_argument("--scenarios", default="inventory,rotate,realistic,moonshot,trust")
    p.add_argument("--summary-sizes", help="inventory sizes measured with `detail: summary` + output_file only, no "
                                           "baselines (default 10000; quick: none)")
    p.add_argument("--summary-at", help="inventory sizes where a `detail: summary` + output_file row runs next to the "
                                        "default detail (default 5000; quick: 500)")
    p.add_argument("--competent-max-n", type=int, default=5000,
                   help="largest N at which the competent amazon.aws playbook runs (default 5000)")
    p.add_argument("--moonshot-n", type=int, help="moonshot databases (default 2000; quick: 96)")
    p.add_argument("--moonshot-accounts", type=int, default=6)
    p.add_argument("--moonshot-rotate-n", type=int,
                   help="moonshot: databases really rotated (default all of --moonshot-n); fewer: scaled by waves")
    p.add_argument("--moonshot-concurrency", type=int, default=100,
                   help="moonshot: rds_ca_rotate's concurrency (default 100)")
    p.add_argument("--moonshot-compression", type=float, default=1 / 60,
                   help="moonshot: transition times, API latency and poll_interval times this (default 1/60)")
    p.add_argument("--moonshot-window-h", type=float, default=4.0, help="the maintenance window (hours, default 4)")
    p.add_argument("--time-compression", type=float, default=1 / 60,
                   help="realistic rotation: RDS's transition minutes times this factor (default 1/60: a minute "
                        "lasts a second); the module's default poll_interval is compressed by the same factor")
    p.add_argument("--baseline-max-n", type=int,
                   help="largest N at which the inventory baseline runs (default 1000; above it the baseline is "
                        "extrapolated and marked so)")
    p.add_argument("--baseline-full-runs-max-n", type=int, default=100,
                   help="the inventory baseline runs --runs times up to this N, once above it (default 100)")
    p.add_argument("--rotate-n", type=int, help="instances to rotate (default 200; quick: 40)")
    p.add_argument("--max-concurrent", type=int, default=20)
    p.add_argument("--poll-interval", type=float, default=1.0)
    p.add_argument("--modify-seconds", type=float, default=5.0)
    p.add_argument("--reboot-seconds", type=float, default=5.0)
    p.add_argument("--rotate-baseline-sample", type=int,
                   help="instances the rotation baseline loop really runs over (default 4; quick: 2)")
    p.add_argument("--trust-hosts", type=int, help="hosts for the trust role (default 50; quick: 10)")
    p.add_argument("--forks", type=int, default=10)
    p.add_argument("--out", default=os.environ.get("BENCH_OUT"),
                   help="where results go (default benchmarks/results/, or BENCH_OUT; --quick: a new temporary "
                        "directory, so that a smoke run never overwrites the committed results)")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--no-profile", action="store_true",
                   help="skip profile_inventory.py at the largest N (run at the end of a full run, not in --quick)")
    args = p.parse_args(argv)
    q = args.quick
    if not args.out:
        args.out = tempfile.mkdtemp(prefix="rdsca-bench-quick-") if q else DEFAULT_OUT
    args.sizes = [int(x) for x in (args.sizes or ("100,500" if q else "100,500,1000,5000")).split(",")]
    args.runs = args.runs or (1 if q else 3)
    args.baseline_max_n = args.baseline_max_n if args.baseline_max_n is not None else 1000
    args.rotate_n = args.rotate_n or (40 if q else 200)
    args.rotate_baseline_sample = args.rotate_baseline_sample if args.rotate_baseline_sample is not None else (
        2 if q else 4)
    args.trust_hosts = args.trust_hosts or (10 if q else 50)
    args.summary_sizes = [int(x) for x in (args.summary_sizes if args.summary_sizes is not None else (
        "" if q else "10000")).split(",") if x.strip()]
    args.summary_at = [int(x) for x in (args.summary_at if args.summary_at is not None else (
        "500" if q else "5000")).split(",") if x.strip()]
    args.moonshot_n = args.moonshot_n or (96 if q else 2000)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - {"inventory", "rotate", "realistic", "moonshot", "trust"}
    if unknown:
        p.error(f"unknown scenario(s) {sorted(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, REPO)
    sys.path.insert(0, HERE)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--render"]:  # rewrite results.md (and results.json's derived parts) from results.json
        path = argv[1] if len(argv) > 1 else os.path.join(DEFAULT_OUT, "results.json")
        data = read_json(path)
        if data is None:
            print(f"cannot read {path}", file=sys.stderr)
            return 2
        write_report(data, os.path.dirname(os.path.abspath(path)))
        print(f"rewrote {os.path.join(os.path.dirname(os.path.abspath(path)), 'results.md')}")
        return 0
    args = parse_args(argv)
    bench = Bench(args)
    return bench.run()


if __name__ == "__main__":
    sys.exit(main())
