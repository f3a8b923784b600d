"""rds_ca_facts' own cost of handing over its result, per detail (issue 20): before and after, one simulator.

    .venv/bin/python benchmarks/profile_result_size.py [--n 5000] [--latency-ms 0] [--out FILE]

Against one simulator process and fleet (benchmarks/run.py's fleet generator), the module's main() runs in this
process (as profile_inventory.py does) under cProfile, once per configuration:

* ``before``: ``set_facts: true, detail: full`` - the records twice, the former default;
* ``full``: the new default (``set_facts: false``) - the records once;
* ``compact``: ``detail: compact``;
* ``summary``: ``detail: summary`` with ``output_file`` (every record written as JSON Lines).

For each it reports wall and CPU time, the CPU time inside exit_json (Ansible's remove_values walk over the whole
result, then the JSON encoding), the bytes written to stdout (what the controller parses) and to the file.
It checks the answer, not the time: every configuration's records, read back with the
``rdsca.rotation.inventory_result`` logic, equal the ``before`` records, the summaries are equal, and the
simulator served the same number of API calls each time. Exits non-zero when an answer differs.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

import run as bench  # noqa: E402  (benchmarks/run.py)
from profile_inventory import install_collection_loader, run_module_inprocess  # noqa: E402

MODULE = "ansible_collections.rdsca.rotation.plugins.modules.rds_ca_facts"


def configurations(work: str) -> list[tuple[str, dict]]:
    return [
        ("before (set_facts: true, full)", {"set_facts": True, "detail": "full"}),
        ("full (new default: set_facts false)", {}),
        ("compact", {"detail": "compact"}),
        ("summary + output_file", {"detail": "summary", "output_file": os.path.join(work, "out", "inventory.jsonl")}),
    ]


def cumulative(profiler: cProfile.Profile, name: str) -> float:
    """Cumulative seconds of the functions called ``name`` (e.g. exit_json, remove_values)."""
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    found = [value[3] for (_file, _line, func), value in stats.items() if func == name]
    return max(found) if found else 0.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--regions", type=int, default=4)
    p.add_argument("--out")
    a = p.parse_args(argv)
    regions = bench.REGIONS[:a.regions]
    bench.ensure_collection_link()
    install_collection_loader()
    from ansible_collections.rdsca.rotation.plugins.module_utils import inventory_records  # after the loader

    work = tempfile.mkdtemp(prefix="rdsca-size-")
    fleet = bench.fleet_dict(a.n, regions)
    sim = bench.SimulatorProcess(work, bench.write_fleet(os.path.join(work, "fleet.yml"), fleet),
                                 os.path.join(work, "sim.log"))
    lines = [f"# rds_ca_facts result size and exit_json cost per detail: N={a.n}, {len(regions)} regions, "
             f"latency {a.latency_ms:g} ms",
             f"# machine: {json.dumps(bench.machine_info())}",
             "",
             "| configuration | wall s | CPU s | exit_json CPU s | remove_values CPU s | stdout MiB | file MiB | API calls | answer |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    ok = True
    try:
        os.environ.update({k: v for k, v in bench.ansible_env(sim.url).items() if k.startswith("AWS_")})
        base = {"regions": regions, "endpoint_url": sim.url, "region": regions[0]}
        sim.set_latency(a.latency_ms)
        run_module_inprocess(MODULE, base)  # warm-up: imports, botocore's service model cache
        reference = None
        for name, extra in configurations(work):
            sim.reset_calls()
            # CPU time, not wall time: the machine is shared, and a loaded one stretches every wall figure.
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            result, size, wall, cpu = run_module_inprocess(MODULE, dict(base, **extra))
            profiler.disable()
            calls = sim.calls()["total"]
            databases = inventory_records.inventory_databases(result)
            answer = {"summary": result.get("summary"), "calls": calls,
                      "databases": [dict(d, days_left=None, ca_days_left=None) for d in databases]}
            if reference is None:
                reference = answer
                assert len(databases) == a.n, (len(databases), result.get("msg"))
            same = answer == reference
            ok = ok and same
            file_size = result.get("output_file_bytes") or 0
            lines.append(f"| {name} | {wall:.2f} | {cpu:.2f} | {cumulative(profiler, 'exit_json'):.2f} | "
                         f"{cumulative(profiler, 'remove_values'):.2f} | {size / 2 ** 20:.2f} | {file_size / 2 ** 20:.2f} | "
                         f"{calls} | {'same' if same else 'DIFFERENT'} |")
    finally:
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)
    lines += ["", "answer: every configuration's records (read back with inventory_result), summary and API call count "
                  "equal the first's" if ok else "answer: DIFFERENT - see the table"]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
