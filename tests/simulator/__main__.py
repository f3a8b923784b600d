"""Command line: `python -m tests.simulator serve --fleet FILE --port PORT` (the demo runner is scripts/demo.py)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

from .fleet import FleetError
from .server import SIM_ACCESS_KEY, SIM_SECRET_KEY, Simulator

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO_FLEET = os.path.join(os.path.dirname(HERE), "fleets", "demo.yml")


def serve(args: argparse.Namespace) -> int:
    sim = Simulator(port=args.port, state_dir=args.state_dir)
    try:
        fleet = sim.load(args.fleet)
    except FleetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sim.stop()
        return 2
    url = sim.start()
    info = {
        "endpoint_url": url,
        "regions": fleet.regions,
        "instances": len(fleet.instances),
        "clusters": len(fleet.clusters),
        "aws_access_key_id": SIM_ACCESS_KEY,
        "linked": sorted(sim.linker.describe()) if sim.linker else [],
        "accounts": [fleet.account_id, *[a for a in fleet.accounts if a != fleet.account_id]],
        "proxies": len(fleet.proxies),
        "control": f"{url}/_sim/health",
    }
    if args.info_file:
        with open(args.info_file, "w", encoding="utf-8") as handle:
            json.dump(info, handle)
    print(f"RDS simulator listening on {url}", flush=True)
    print(json.dumps(info, indent=2), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    print("RDS simulator stopping", flush=True)
    sim.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.simulator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="serve the RDS API for a fleet until interrupted")
    p_serve.add_argument("--fleet", default=DEMO_FLEET, help="fleet YAML file (default: the demo fleet)")
    p_serve.add_argument("--port", type=int, default=5000, help="TCP port on 127.0.0.1 (0 picks a free one)")
    p_serve.add_argument("--state-dir", default=None, help="where linked databases and CAs live (default: temp)")
    p_serve.add_argument("--info-file", default=None, help="write endpoint and fleet facts as JSON here")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", SIM_ACCESS_KEY)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", SIM_SECRET_KEY)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
