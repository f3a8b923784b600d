"""rds_ca_rotate's own cost of handing over its result, per detail, on a real rotation (issue 20).

    .venv/bin/python benchmarks/profile_rotate_result_size.py [--n 2000] [--out FILE]

One simulator process (benchmarks/run.py's fleet generator: N databases over 4 regions, all on rds-ca-2019, about
half needing a restart) whose transitions are fast (``modifying`` and ``rebooting`` last ``--modify-seconds`` and
``--reboot-seconds``, 0.1 s by default: this measures bytes and exit_json, not transition time). The module's
main() runs in this process (profile_inventory.py's runner, no Ansible around it) and rotates every database
(``allow_restart: true``, ``concurrency`` 500, ``poll_interval`` 0.5 s), once with ``detail: full`` and once with
``detail: compact``; the fleet is loaded again before each run, so that both rotate the same databases.

For each detail it reports the module's wall and CPU time, the CPU time inside exit_json (Ansible's remove_values
walk over the whole result, then the JSON encoding) and inside remove_values alone, and the bytes written to
stdout (what the controller parses), in total and per database. It checks the answer, not the time: every
database rotated, the summaries equal, and the compact records, expanded with the collection's own logic
(``rotation_records.expand_unit``, and the ``rdsca.rotation.rotation_record`` filter the rotate playbook uses),
equal the full records - the timestamps, durations and the statuses a poll happened to see excepted (they differ
between any two runs; only their presence and type are compared). Exits non-zero when an answer differs.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sys
import tempfile
import time
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

import run as bench  # noqa: E402  (benchmarks/run.py)
from profile_inventory import install_collection_loader, run_module_inprocess  # noqa: E402

MODULE = "ansible_collections.rdsca.rotation.plugins.modules.rds_ca_rotate"
DETAILS = ("full", "compact")
# Keys whose values differ between any two rotations of the same fleet (when, how long, which transitional
# statuses a poll caught): compared by presence and type only.
VOLATILE = ("started_at", "finished_at", "duration_seconds", "statuses_seen")


class Timed:
    """CPU (this thread) and wall seconds spent inside one function of a module, patched for the run."""

    def __init__(self, owner: Any, name: str) -> None:
        self.owner, self.name = owner, name
        self.original: Callable[..., Any] = getattr(owner, name)
        self.cpu = self.wall = 0.0

    def __enter__(self) -> "Timed":
        original = self.original

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            cpu, wall = time.thread_time(), time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:  # exit_json ends with SystemExit
                self.cpu += time.thread_time() - cpu
                self.wall += time.perf_counter() - wall

        setattr(self.owner, self.name, timed)
        return self

    def __exit__(self, *exc: Any) -> None:
        setattr(self.owner, self.name, self.original)


def normalized(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` with the volatile keys' values replaced by their type name (None stays None)."""
    return {k: (type(v).__name__ if v is not None else None) if k in VOLATILE else v for k, v in item.items()}


def by_label(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["label"]: normalized(item) for item in items}


def compare(full: dict[str, Any], compact: dict[str, Any], n: int) -> list[str]:
    """Why the two results do not give the same answer (empty when they do)."""
    # imported here: after install_collection_loader
    from ansible_collections.rdsca.rotation.plugins.module_utils import rotation_records
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import rotate_playbook
    problems = []
    for name, result in (("full", full), ("compact", compact)):
        summary = result.get("summary") or {}
        items = result.get("databases") or []
        if result.get("failed") or summary.get("rotated") != n or len(items) != n:
            problems.append(f"{name}: not every database rotated: {summary} {str(result.get('msg', ''))[:300]}")
        if result.get("detail") != name:
            problems.append(f"{name}: the result says detail {result.get('detail')!r}")
        if result.get("failures"):
            problems.append(f"{name}: failures {result['failures'][:3]}")
        target = result.get("target_ca")
        wrong = [i.get("label") for i in items if i.get("status") != "rotated" or i.get("current_ca") != target]
        if wrong:
            problems.append(f"{name}: {len(wrong)} database(s) not rotated to {target}, e.g. {wrong[:3]}")
    if full.get("summary") != compact.get("summary"):
        problems.append(f"summaries differ: full {full.get('summary')} compact {compact.get('summary')}")
    full_items = full.get("databases") or []
    compact_items = compact.get("databases") or []
    if sum(len(json.dumps(i)) for i in compact_items) >= sum(len(json.dumps(i)) for i in full_items) > 0:
        problems.append("the compact records are not smaller than the full ones")
    expanded = by_label([rotation_records.expand_unit(i) for i in compact_items])
    if expanded != by_label(full_items):
        labels = sorted(set(expanded) | set(by_label(full_items)))
        differ = [label for label in labels if expanded.get(label) != by_label(full_items).get(label)]
        problems.append(f"expand_unit(compact) != full for {len(differ)} database(s), e.g. {differ[:3]}")
    # The rotate playbook's own reading: one batch's record built from each result by the rotation_record filter.
    databases = [{"label": i["label"]} for i in full_items]
    records = [rotate_playbook.rotation_record(None, [result], databases, [], 1, 1, False) for result in (full, compact)]
    if by_label(records[0]["databases"]) != by_label(records[1]["databases"]) or \
            {k: v for k, v in records[0].items() if k != "databases"} != {k: v for k, v in records[1].items() if k != "databases"}:
        problems.append("the rotation_record filter builds different phase records from the full and compact results")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--regions", type=int, default=4)
    p.add_argument("--modify-seconds", type=float, default=0.1)
    p.add_argument("--reboot-seconds", type=float, default=0.1)
    p.add_argument("--concurrency", type=int, default=500)
    p.add_argument("--poll-interval", type=float, default=0.5)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--out", help="write the Markdown section here")
    p.add_argument("--json", help="write the rows, the problems found and both results here (JSON)")
    a = p.parse_args(argv)
    regions = bench.REGIONS[:a.regions]
    bench.ensure_collection_link()
    install_collection_loader()
    from ansible.module_utils import basic  # after the loader, as the module imports it

    work = tempfile.mkdtemp(prefix="rdsca-rotsize-")
    fleet = bench.fleet_dict(a.n, regions, on_target_share=0.0,
                             timing={"modify_seconds": a.modify_seconds, "reboot_seconds": a.reboot_seconds})
    path = bench.write_fleet(os.path.join(work, "fleet.yml"), fleet)
    databases = [f"{i['region']}/{i['id']}" for i in bench.fleet_instances(fleet)]
    restart = bench.restart_map()
    restarts = sum(1 for i in bench.fleet_instances(fleet) if restart.get((i["engine"], i["engine_version"])))
    sim = bench.SimulatorProcess(work, path, os.path.join(work, "sim.log"))
    started = time.perf_counter()
    lines = [f"# rds_ca_rotate result size and exit_json cost per detail, real rotation: N={a.n}, {len(regions)} "
             f"regions, latency {a.latency_ms:g} ms",
             f"# machine: {json.dumps(bench.machine_info())}",
             f"# settings: allow_restart true, concurrency {a.concurrency}, poll_interval {a.poll_interval:g} s; "
             f"simulated modifying {a.modify_seconds:g} s, rebooting {a.reboot_seconds:g} s; "
             f"{restarts} of {a.n} databases restart",
             "",
             "| detail | wall s | CPU s | exit_json CPU s | remove_values CPU s | stdout MiB | per database B | API calls | rotated |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    results: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    try:
        os.environ.update({k: v for k, v in bench.ansible_env(sim.url).items() if k.startswith(("AWS_", "RDSCA_"))})
        base = {"databases": databases, "endpoint_url": sim.url, "region": regions[0], "target_ca": bench.TARGET_CA,
                "allow_restart": True, "concurrency": a.concurrency, "poll_interval": a.poll_interval}
        sim.set_latency(a.latency_ms)
        # warm-up (imports, botocore's service model cache): a preview, which changes nothing
        run_module_inprocess(MODULE, dict(base, _ansible_check_mode=True))
        for detail in DETAILS:
            sim.load(path)  # the same databases, all on rds-ca-2019 again
            sim.set_latency(a.latency_ms)
            sim.reset_calls()
            with Timed(basic.AnsibleModule, "exit_json") as exit_json, Timed(basic, "remove_values") as remove_values:
                result, size, wall, cpu = run_module_inprocess(MODULE, dict(base, detail=detail))
            calls = sim.calls()["total"]
            results[detail] = result
            rotated = (result.get("summary") or {}).get("rotated")
            rows.append({"detail": detail, "wall_s": wall, "cpu_s": cpu, "exit_json_cpu_s": exit_json.cpu,
                         "remove_values_cpu_s": remove_values.cpu, "stdout_bytes": size, "api_calls": calls,
                         "rotated": rotated})
            lines.append(f"| {detail} | {wall:.2f} | {cpu:.2f} | {exit_json.cpu:.3f} | {remove_values.cpu:.3f} | "
                         f"{size / 2 ** 20:.3f} | {size / max(a.n, 1):.0f} | {calls} | {rotated} |")
            print(lines[-1], flush=True)
    finally:
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)
    problems = compare(results.get("full") or {}, results.get("compact") or {}, a.n)
    if len(rows) == 2 and rows[0]["stdout_bytes"]:
        full_row, compact_row = rows
        saved = full_row["stdout_bytes"] - compact_row["stdout_bytes"]
        lines += ["", f"compact: {saved / full_row['stdout_bytes']:.0%} fewer bytes than full ({saved / max(a.n, 1):.0f} B "
                      f"per database less); exit_json CPU {full_row['exit_json_cpu_s']:.3f} s -> "
                      f"{compact_row['exit_json_cpu_s']:.3f} s. The CPU columns are this process's (all threads for "
                      f"the module, this thread inside exit_json and remove_values); wall times depend on the load."]
    lines += ["", (f"answer: both rotated every database (summary equal); the compact records, expanded with "
                   f"rotation_records.expand_unit and through the rotation_record filter, equal the full ones "
                   f"(except {', '.join(VOLATILE)}: presence and type only)") if not problems
              else "answer: DIFFERENT - " + "; ".join(problems),
              f"(whole run {time.perf_counter() - started:.0f} s, fleet loads included)"]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    if a.json:
        with open(a.json, "w", encoding="utf-8") as handle:
            json.dump({"n": a.n, "rows": rows, "problems": problems, "results": results}, handle)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
