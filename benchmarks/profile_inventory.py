"""Where the inventory's time goes at fleet scale: rds_ca_facts profiled, the simulator's share measured.

    .venv/bin/python benchmarks/profile_inventory.py [--n 5000] [--latency-ms 50] [--out FILE]

Against the same simulator process and fleet as run.py, it

1. runs the module's main() in this process under cProfile (no Ansible around it), twice: with the
   injected latency and with none, and reports wall time, this process's CPU time, the simulator's CPU
   time over the same interval (its share: moto serving the pages), the size of the module's JSON result,
   and the top functions by cumulative and by own time;
2. runs benchmarks/inventory.yml through ansible-playbook with the ansible.posix.profile_tasks callback,
   so that the module task's time can be told from Ansible's start-up and its handling of the result.

Writes a text report (default benchmarks/results/profile-inventory-<n>.txt) and prints it.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import re
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

import run as bench  # noqa: E402  (benchmarks/run.py)


def install_collection_loader() -> None:
    """Make ansible_collections.rdsca.rotation and amazon.aws importable here, as AnsiballZ does for a module."""
    import ansible
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    site = os.path.dirname(os.path.dirname(ansible.__file__))
    for name in [m for m in sys.modules if m == "ansible_collections" or m.startswith("ansible_collections.")]:
        del sys.modules[name]  # imported as a plain namespace package before: the finder must own it
    _AnsibleCollectionFinder(paths=[bench.COLLECTIONS_PATH, site])._install()  # pylint: disable=protected-access


def run_module_inprocess(module_name: str, args: dict) -> tuple[dict, int, float, float]:
    """main() of a collection module with ``args``; returns (result, bytes of JSON, wall s, CPU s)."""
    import importlib
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))  # pylint: disable=protected-access
    basic._ANSIBLE_PROFILE = "legacy"  # pylint: disable=protected-access
    module = importlib.import_module(module_name)
    out = io.StringIO()
    start, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    text = out.getvalue()
    try:
        result = json.loads(text)
    except ValueError:
        result = {"unparsed": text[-2000:]}
    return result, len(text.encode()), wall, cpu


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--regions", type=int, default=4)
    p.add_argument("--out")
    p.add_argument("--top", type=int, default=30)
    a = p.parse_args(argv)
    out_path = a.out or os.path.join(bench.DEFAULT_OUT, f"profile-inventory-{a.n}.txt")
    regions = bench.REGIONS[:a.regions]
    bench.ensure_collection_link()
    install_collection_loader()
    report: list[str] = [f"# rds_ca_facts profile: N={a.n}, {len(regions)} regions, latency {a.latency_ms:g} ms",
                         f"# machine: {json.dumps(bench.machine_info())}", ""]
    work = tempfile.mkdtemp(prefix="rdsca-prof-")
    fleet = bench.fleet_dict(a.n, regions)
    path = bench.write_fleet(os.path.join(work, "fleet.yml"), fleet)
    sim = bench.SimulatorProcess(work, path, os.path.join(work, "sim.log"))
    try:
        os.environ.update({k: v for k, v in bench.ansible_env(sim.url).items() if k.startswith("AWS_")})
        args = {"regions": regions, "endpoint_url": sim.url, "region": regions[0]}
        name = "ansible_collections.rdsca.rotation.plugins.modules.rds_ca_facts"
        run_module_inprocess(name, args)  # warm-up: imports, botocore's service model cache
        for latency in (a.latency_ms, 0.0):
            sim.set_latency(latency)
            sim.reset_calls()
            profiler = cProfile.Profile()
            sim_cpu = sim.cpu_seconds()
            profiler.enable()
            result, size, wall, cpu = run_module_inprocess(name, args)
            profiler.disable()
            sim_cpu = sim.cpu_seconds() - sim_cpu
            calls = sim.calls()["total"]
            report += [
                f"## module main() in-process, latency {latency:g} ms",
                f"wall {wall:.2f} s | module process CPU {cpu:.2f} s | simulator CPU {sim_cpu:.2f} s "
                f"(moto serving; {calls} API calls) | JSON result {size / 2 ** 20:.1f} MiB "
                f"({len(result.get('databases', []))} databases; the inventory is returned "
                f"{'twice, top level and ansible_facts.rds_ca' if 'ansible_facts' in result else 'once'})",
                f"simulator RSS now {sim.rss_mb():.0f} MB",
                "",
            ]
            if latency:
                for sort in ("cumulative", "tottime"):
                    text = io.StringIO()
                    stats = pstats.Stats(profiler, stream=text)
                    stats.strip_dirs().sort_stats(sort).print_stats(a.top)
                    body = text.getvalue()
                    body = body[body.find("   ncalls"):] if "   ncalls" in body else body
                    report += [f"### top {a.top} by {sort} (latency {latency:g} ms)", "```", body.rstrip(), "```", ""]
        # The same through ansible-playbook, with per-task times.
        sim.set_latency(a.latency_ms)
        env = bench.ansible_env(sim.url, {"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks"})
        log = os.path.join(work, "playbook.log")
        res = bench.run_playbook(os.path.join(HERE, "inventory.yml"),
                                 {"bench_endpoint_url": sim.url, "bench_regions": regions,
                                  "bench_answer_file": os.path.join(work, "answer.json")}, env, log)
        with open(log, encoding="utf-8") as handle:
            text = handle.read()
        tasks = re.findall(r"^(.+?) -+ (\d+\.\d+)s$", text, re.M)
        report += [f"## ansible-playbook benchmarks/inventory.yml (latency {a.latency_ms:g} ms)",
                   f"wall {res.wall_s:.2f} s, rc {res.rc}; peak RSS (VmHWM): controller {res.controller_hwm_mb:.0f} MB, "
                   f"module {res.module_hwm_mb:.0f} MB; summed tree {res.tree_rss_mb:.0f} MB",
                   "profile_tasks:"]
        report += [f"  {t.strip()}: {s} s" for t, s in tasks]
        report += [f"  (rest = Ansible start-up, parsing and teardown: "
                   f"{res.wall_s - sum(float(s) for _t, s in tasks):.2f} s)", ""]
    finally:
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(report) + "\n")
    print("\n".join(report))
    print(f"wrote {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
