#!/usr/bin/env python
"""rds_ssl_usage against 1,000 endpoints that refuse or drop connections (issue 20).

    .venv/bin/python benchmarks/ssl_usage_unreachable.py                       # this checkout
    git worktree add /tmp/before <commit> && make -C /tmp/before collection-link
    .venv/bin/python benchmarks/ssl_usage_unreachable.py --label before \\
        --collections-path /tmp/before/.build/collections --options none     # the code before issue 20

One simulator (tests/simulator, its own process) holds N PostgreSQL instances; every database item
sends the module's TCP connections to 127.0.0.1 (``connect_host``/``connect_port``):

* ``refused``: N ports on 127.0.0.1 with nothing listening (an immediate RST);
* ``black-holed``: one listener whose accept queue is full, so the kernel drops every SYN - what a
  security group or firewall that drops packets looks like (TEST-NET addresses answer here: the
  sandbox's network refuses them instead of dropping).

Each run is one ansible-playbook (ssl_usage_unreachable.yml) with a login user, so that the login
path is measured too. The wall time is appended to ``--out`` (a JSON Lines file) with the answer
(databases, errors, how many were unreachable, how many logins were attempted); no time is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run import (REPO, SimulatorProcess, ansible_env, ensure_collection_link,  # noqa: E402  pylint: disable=wrong-import-position
                 parse_answer, run_playbook, write_fleet)

REGION = "us-east-1"


def black_hole() -> tuple[socket.socket, list[socket.socket]]:
    """A listener on 127.0.0.1 whose accept queue is full: further connections time out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    held = []
    for _attempt in range(16):
        try:
            held.append(socket.create_connection(("127.0.0.1", listener.getsockname()[1]), timeout=0.2))
        except socket.timeout:
            return listener, held
    raise RuntimeError("this kernel completes every connection to a full listener: no black hole on 127.0.0.1")


def closed_ports(count: int, start: int = 40000) -> list[int]:
    """``count`` ports of 127.0.0.1 with nothing listening (checked)."""
    ports = []
    port = start
    while len(ports) < count:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                ports.append(port)
        port += 1
    return ports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="databases (default 1000)")
    parser.add_argument("--n-black-holed", type=int, default=None, help="databases of the black-holed run (default --n)")
    parser.add_argument("--scenarios", default="refused,black-holed",
                        help="refused, black-holed, refused-sliced (refused, looped over slices of --slice)")
    parser.add_argument("--slice", type=int, default=250, help="slice size of refused-sliced (default 250)")
    parser.add_argument("--label", default="after", help="name of the code measured (before, after)")
    parser.add_argument("--collections-path", default=os.path.join(REPO, ".build", "collections"))
    parser.add_argument("--options", default="default", choices=["default", "none"],
                        help="'none': pass no connect_timeout/probe_workers (the code before issue 20 has none)")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "ssl-usage-unreachable.jsonl"))
    args = parser.parse_args()
    ensure_collection_link()
    workdir = tempfile.mkdtemp(prefix="ssl-usage-bench-")
    sizes = {"refused": args.n, "refused-sliced": args.n, "black-holed": args.n_black_holed or args.n}
    n_max = max(sizes[s] for s in args.scenarios.split(","))
    fleet = {"description": "rds_ssl_usage unreachable endpoints", "regions": {REGION: {
        "default_ca": "rds-ca-rsa2048-g1",
        "instances": [{"id": "dark-pg", "engine": "postgres", "engine_version": "16.3", "count": n_max,
                       "maintenance": "none"}]}}}
    fleet_path = write_fleet(os.path.join(workdir, "fleet.yml"), fleet)
    sim = SimulatorProcess(workdir, fleet_path, os.path.join(workdir, "simulator.log"))
    listener, held = black_hole()
    try:
        env = ansible_env(sim.url, {"ANSIBLE_COLLECTIONS_PATH": args.collections_path})
        for scenario in args.scenarios.split(","):
            n = sizes[scenario]
            if scenario.startswith("refused"):
                targets = [("127.0.0.1", port) for port in closed_ports(n)]
            else:
                targets = [("127.0.0.1", listener.getsockname()[1])] * n
            databases = [{"identifier": "dark-pg-%d" % (i + 1), "region": REGION, "connect_host": host,
                          "connect_port": port} for i, (host, port) in enumerate(targets)]
            options = {} if args.options == "none" else {"connect_timeout": 3, "probe_workers": 64}
            log = os.path.join(workdir, "%s-%s.log" % (args.label, scenario))
            run = run_playbook(os.path.join(HERE, "ssl_usage_unreachable.yml"),
                               {"bench_endpoint_url": sim.url, "bench_region": REGION, "bench_databases": databases,
                                "bench_options": options, "bench_password": "not-a-real-password",
                                "bench_slice": args.slice if scenario.endswith("-sliced") else 0}, env, log)
            record = {"label": args.label, "scenario": scenario, "n": n, "options": options or "none (module defaults)",
                      "rc": run.rc, "wall_s": round(run.wall_s, 1), "answer": parse_answer(log),
                      "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load": os.getloadavg()}
            print(json.dumps(record), flush=True)
            os.makedirs(os.path.dirname(args.out), exist_ok=True)
            with open(args.out, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
    finally:
        for sock in held:
            sock.close()
        listener.close()
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
