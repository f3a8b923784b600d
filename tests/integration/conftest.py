"""Shared fixtures: a simulator per test module, and real ansible-playbook runs against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from tests.simulator.server import SIM_ACCESS_KEY, SIM_SECRET_KEY, Simulator  # noqa: E402

COLLECTIONS_PATH = os.path.join(REPO, ".build", "collections")


def _ensure_collection_link() -> None:
    link = os.path.join(COLLECTIONS_PATH, "ansible_collections", "rdsca", "rotation")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        try:
            os.symlink(os.path.relpath(REPO, os.path.dirname(link)), link)
        except FileExistsError:  # another pytest-xdist worker made it first (the same link)
            pass


@dataclass
class PlaybookResult:
    rc: int
    stdout: str
    stderr: str
    results: dict[str, Any]

    def task(self, name: str) -> dict[str, Any]:
        """The registered result that a playbook saved under `name` (see run_playbook)."""
        if name not in self.results:
            raise AssertionError(f"no result {name!r}; have {sorted(self.results)}\n{self.stdout[-4000:]}")
        return self.results[name]


class SimulatorHandle:
    """What tests get: the running simulator plus conveniences to reach it."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    @property
    def url(self) -> str:
        return self.sim.endpoint_url

    def client(self, service: str = "rds", region: str = "us-east-1", **kwargs: Any):
        return boto3.client(service, region_name=region, endpoint_url=self.url, aws_access_key_id=SIM_ACCESS_KEY,
                            aws_secret_access_key=SIM_SECRET_KEY, **kwargs)

    def control(self, method: str, path: str, body: dict | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())

    def calls(self) -> dict[str, Any]:
        return self.control("GET", "/_sim/calls")

    def reset_calls(self) -> None:
        self.control("POST", "/_sim/calls/reset", {})

    def faults(self, rules: list[dict[str, Any]], seed: int = 0) -> None:
        self.control("POST", "/_sim/faults", {"rules": rules, "seed": seed})

    def clear_faults(self) -> None:
        self.control("DELETE", "/_sim/faults", {})

    def load(self, fleet: dict | str) -> "SimulatorHandle":
        """Replace the fleet; the new one starts without faults and with zeroed call counts."""
        self.sim.load(fleet)
        self.clear_faults()
        self.reset_calls()
        return self

    def env(self) -> dict[str, str]:
        """Environment for an ansible-playbook run that talks to this simulator and nothing else."""
        env = dict(os.environ)
        for key in list(env):
            if key.startswith("AWS_"):
                del env[key]
        env.update({
            "AWS_ACCESS_KEY_ID": SIM_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SIM_SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.url,
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            # The simulator's PKI gives its own keys RDS CA names: accepted explicitly (rds_ca_bundle
            # allow_unpinned_rds_cas), as an operator would for a test PKI. Tests of pinning unset it.
            "RDSCA_ALLOW_UNPINNED_RDS_CAS": "true",
        })
        return env

    def run_playbook(self, plays: list[dict[str, Any]] | str, extra_vars: dict[str, Any] | None = None,
                     check: bool = False, diff: bool = False, extra_args: list[str] | None = None,
                     timeout: int = 600, cwd: str | None = None) -> PlaybookResult:
        """Run a real ansible-playbook (plays as data, or a playbook path) on localhost.

        From the repository root unless `cwd` says otherwise (an operator's own directory).

        Tasks register variables; name them in the last play's `save` list and they
        come back as `result.results[name]` (saved even when a task fails).
        """
        _ensure_collection_link()
        with tempfile.TemporaryDirectory(prefix="rdsca-it-") as tmp:
            results_file = os.path.join(tmp, "results.json")
            if isinstance(plays, str):
                playbook = plays
            else:
                playbook = os.path.join(tmp, "playbook.yml")
                with open(playbook, "w", encoding="utf-8") as handle:
                    yaml.safe_dump(_with_save(plays), handle, sort_keys=False)
            variables = {"rdsca_test_results_file": results_file, "sim_endpoint_url": self.url, **(extra_vars or {})}
            cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                   "-c", "local", playbook, "-e", json.dumps(variables)]
            if check:
                cmd.append("--check")
            if diff:
                cmd.append("--diff")
            cmd += extra_args or []
            proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env(), timeout=timeout,
                                  cwd=cwd or REPO, check=False)
            results = {}
            if os.path.exists(results_file):
                with open(results_file, encoding="utf-8") as handle:
                    results = json.load(handle)
            return PlaybookResult(proc.returncode, proc.stdout, proc.stderr, results)


def _with_save(plays: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Append to the last play a task that dumps the variables named in its `save` list."""
    plays = [dict(p) for p in plays]
    last = plays[-1]
    names = last.pop("save", [])
    if names:
        expr = "{" + ", ".join(f"'{n}': ({n} | default(None))" for n in names) + "}"
        save_task = {
            "name": "Save results for the test",
            "ansible.builtin.copy": {"content": "{{ " + expr + " | to_json }}",
                                     "dest": "{{ rdsca_test_results_file }}", "mode": "0600"},
            "check_mode": False,
            "changed_when": False,
            "delegate_to": "localhost",
        }
        last["tasks"] = list(last.get("tasks", [])) + [save_task]
        # Failures must still save what was registered so the test can explain them.
        last["tasks"] = [{"block": last["tasks"][:-1], "always": [save_task]}]
    return plays


@pytest.fixture(scope="session")
def simulator():
    """One simulator for the whole session; each test module loads its own fleet."""
    sim = Simulator()
    sim.start()
    try:
        yield SimulatorHandle(sim)
    finally:
        sim.stop()


# The test files that take longest, longest first (measured with `make integration`'s --durations; the
# rest keep their order). In pytest-xdist workers (`make integration`, --dist loadfile --no-loadscope-reorder)
# a file runs whole in one worker, in the order collected: started first, the long files do not make the
# tail of the run. Only the order of files changes; tests inside a file keep theirs (some depend on it).
LONGEST_FILES_FIRST = (
    "test_playbooks.py",
    "test_ca_trust.py",
    "test_iam_policy.py",
    "test_demo_warnings.py",
    "test_bench_smoke.py",
    "test_no_secrets.py",
    "test_playbooks_accounts.py",
    "test_examples.py",
    "test_awx_config.py",
)


def pytest_collection_modifyitems(config, items):  # pylint: disable=unused-argument
    rank = {name: position for position, name in enumerate(LONGEST_FILES_FIRST)}
    order = {id(item): index for index, item in enumerate(items)}
    items.sort(key=lambda item: (rank.get(os.path.basename(str(item.path)), len(rank)), order[id(item)]))
