"""`make demo`: the collection's main job against the simulator's demo fleet."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from .server import SIM_ACCESS_KEY, SIM_SECRET_KEY, Simulator

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_FLEET = os.path.join(REPO, "tests", "fleets", "demo.yml")
# The main job grows with the collection: the inventory now, the staged rotation once it exists.
MAIN_PLAYBOOK = os.path.join(REPO, "playbooks", "inventory.yml")


def playbook_env(endpoint_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": SIM_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SIM_SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        # botocore sends every AWS call to the simulator; nothing can reach a real account.
        "AWS_ENDPOINT_URL": endpoint_url,
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, ".build", "collections"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
    })
    return env


def run_demo(args: argparse.Namespace) -> int:
    output_dir = os.path.abspath(args.output_dir)
    os.makedirs(output_dir, exist_ok=True)
    started = time.monotonic()
    sim = Simulator()
    try:
        fleet = sim.load(DEMO_FLEET)
        url = sim.start()
        print(f"demo: simulator on {url} with {len(fleet.instances)} instances in {', '.join(fleet.regions)}"
              f" ({len(sim.linker.databases) if sim.linker else 0} backed by real TLS servers)", flush=True)
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
               MAIN_PLAYBOOK, "-e", json.dumps({"rdsca_regions": fleet.regions, "rdsca_report_dir": output_dir})]
        print(f"demo: {' '.join(cmd[:1] + [os.path.relpath(MAIN_PLAYBOOK, REPO)])}", flush=True)
        proc = subprocess.run(cmd, env=playbook_env(url), cwd=REPO, check=False)
    finally:
        sim.stop()
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        print(f"demo: the playbook failed (exit {proc.returncode}) after {elapsed:.0f}s", file=sys.stderr)
        return proc.returncode
    print(f"demo: done in {elapsed:.0f}s; report in {output_dir}")
    for name in sorted(os.listdir(output_dir)):
        print(f"  {os.path.join(output_dir, name)}")
    return 0
