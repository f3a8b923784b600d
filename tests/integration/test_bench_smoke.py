"""Smoke run of the benchmark harness (benchmarks/run.py) with tiny sizes, so that it cannot rot.

One run of every scenario, no plot, into a temporary directory: the inventory at N=20 (with the
amazon.aws baseline) and N=60 (without), the rotation of 8 instances (the baseline only over no
instance: one amazon.aws.rds_instance iteration waits 60 s), the trust role on 2 hosts. The
assertions are the harness's own checks - the inventory API-call bound, both inventory variants giving
the fleet's answer, every instance rotated with at most one poll per region per interval, the trust
role idempotent - plus the shape of results.md and results.json. About a minute.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

RUN = os.path.join(REPO, "benchmarks", "run.py")
SHARED_DATA = os.environ.get("RDSCA_SHARED_DATA", os.path.join(os.path.dirname(REPO), "shared", "data", "rds-ca"))
SHARED_BUNDLE = os.path.join(SHARED_DATA, "global-bundle.pem")


def test_bench_smoke(tmp_path):
    out = tmp_path / "results"
    cmd = [sys.executable, RUN, "--sizes", "20,60", "--runs", "1", "--baseline-max-n", "20",
           "--rotate-n", "8", "--rotate-baseline-sample", "0", "--modify-seconds", "0.5", "--reboot-seconds", "0.5",
           "--poll-interval", "0.5", "--time-compression", str(1 / 120), "--trust-hosts", "2", "--latency-ms", "20",
           "--summary-sizes", "80", "--summary-at", "60", "--moonshot-n", "48", "--moonshot-accounts", "3",
           "--moonshot-compression", str(1 / 120),
           "--no-plot", "--no-profile", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=900, check=False)
    log = proc.stdout[-6000:] + proc.stderr[-3000:]
    assert proc.returncode == 0, log

    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    checks = {c["check"]: c for c in data["checks"]}
    failed = [c for c in data["checks"] if not c["ok"]]
    assert not failed, failed

    # The inventory bound, checked by the harness from the simulator's own call counts...
    bound_checks = [c for name, c in checks.items() if "API calls per region" in name]
    assert len(bound_checks) == 3, sorted(checks)      # N=20, 60 and the summary-only 80
    # ...and recomputed here: per region ceil(n_r/100) + 5 + distinct engines.
    ours = [m for m in data["measurements"] if m["scenario"] == "inventory" and m["variant"] == "rdsca"]
    assert {m["n"] for m in ours} == {20, 60}
    for m in ours:
        assert m["rc"] == 0
        assert set(m["calls_by_region"]) == {"us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"}
        for region, ops in m["calls_by_region"].items():
            assert ops.get("DescribeDBInstances") == 1, (region, ops)      # <= 100 instances: one page
            assert sum(ops.values()) <= 1 + 5 + ops.get("DescribeDBEngineVersions", 0), (region, ops)
            assert 1 <= ops.get("DescribeDBEngineVersions", 0) <= 5, (region, ops)  # at most 5 engines in the mix
        assert m["extra"]["answer"]["databases"] == m["n"]
    baseline = [m for m in data["measurements"] if m["scenario"] == "inventory" and m["variant"] == "baseline"]
    assert [m["n"] for m in baseline] == [20]
    # the baseline looks up the engine version once per instance
    assert sum(ops.get("DescribeDBEngineVersions", 0) for ops in baseline[0]["calls_by_region"].values()) == 20
    assert baseline[0]["extra"]["answer"] == {k: v for k, v in ours[0]["extra"]["answer"].items()
                                              if k != "api_calls_reported"}

    # The competent amazon.aws playbook: one engine-version lookup per DISTINCT version, same answer.
    competent = [m for m in data["measurements"] if m["scenario"] == "inventory" and m["variant"] == "competent"]
    assert {m["n"] for m in competent} == {20, 60}
    for m in competent:
        assert m["rc"] == 0
        lookups = sum(ops.get("DescribeDBEngineVersions", 0) for ops in m["calls_by_region"].values())
        assert 1 <= lookups <= 10, m["calls_by_region"]             # 10 (engine, version) pairs in the mix
        assert m["extra"]["answer"] == {
            k: v for k, v in next(o for o in ours if o["n"] == m["n"])["extra"]["answer"].items()
            if k != "api_calls_reported"}
    # The floor: start-up + critical path. Not compared with the measured times here: both are times measured on a
    # shared machine (start-up in its own runs), and no test asserts a time; results.md reports the distance.
    assert data["startup_s"] > 0
    floors = {f["n"]: f for f in data["floor"]}
    assert set(floors) == {20, 60, 80}
    for n, f in floors.items():
        assert f["startup_s"] < f["floor_s"] and f["rdsca_s"] > 0, f
        assert f["latency_path_s"] == pytest.approx(2 * 0.020)       # one page + one version round trip
    # `detail: summary` + output_file: next to the default at N=60, alone at N=80 (as 10,000 in a full run); the
    # answer from the summary and the JSON Lines file's records, one per database.
    summary = [m for m in data["measurements"] if m["scenario"] == "inventory" and m["variant"] == "rdsca-summary"]
    assert {m["n"] for m in summary} == {60, 80}
    for m in summary:
        assert m["rc"] == 0 and m["extra"]["answer_ok"], m["extra"]
        assert m["extra"]["jsonl_records"] == m["n"] and m["extra"]["jsonl_bad_lines"] == 0
        assert m["extra"]["answer"]["databases"] == m["n"]
    assert checks["inventory N=80, detail summary: the summary's answer and the output_file's records (JSON Lines) "
                  "both match the fleet"]["ok"]
    assert not [m for m in data["measurements"] if m["n"] == 80 and m["variant"] in ("competent", "baseline")]
    assert not [r for r in data["rows"] if r["n"] == 80 and r["variant"] == "baseline"]  # nothing extrapolated there

    # The moonshot: several accounts audited and rotated, restarts counted from the simulator's events.
    moon = data["moonshot"][0]
    assert (moon["n"], moon["accounts"]) == (48, 3)
    audit = [m for m in data["measurements"] if m["scenario"] == "moonshot-audit"]
    assert audit and all(m["extra"]["answer"]["databases"] == 48 for m in audit)
    assert moon["unplanned_restarts"] == 0 and moon["restarted_twice"] == 0
    assert moon["restarted"] == moon["planned_restarts"] > 0 and moon["hot_swaps"] > 0
    assert moon["rotate_modelled_s"] > moon["rotate_wall_s"]
    assert checks["moonshot rotation: every database rotated (48 of the 48)"]["ok"]

    # The rotation with RDS-like times: measured at rotate-n, modelled at 2,000.
    real = {r["n"]: r for r in data["realistic"]}
    assert real[8]["measured"] and real[8]["modelled_s"] > real[8]["wall_s"]
    assert not real[2000]["measured"] and real[2000]["modelled_s"] > real[8]["modelled_s"]
    assert checks["rotate-realistic: every instance rotated (8)"]["ok"]

    rotated = [m for m in data["measurements"] if m["scenario"] == "rotate" and m["variant"] == "rdsca"]
    assert rotated and rotated[0]["extra"]["answer"]["summary"]["rotated"] == 8

    # The report has the table rows, the targets and the machine.
    md = (out / "results.md").read_text(encoding="utf-8")
    assert "| inventory | 20 | rdsca.rotation |" in md
    assert "| inventory | 20 | amazon.aws, naive (versions once per instance, serial) |" in md
    assert "| inventory | 20 | amazon.aws, competent (regions async, versions once) |" in md
    assert "| inventory | 60 | rdsca.rotation |" in md
    assert "| rotate | 8 | rdsca.rotation |" in md
    assert "**Machine:**" in md and "## Targets" in md
    assert "## The floor (inventory)" in md
    assert "## Rotation with RDS-like transition times (modelled)" in md
    assert "| inventory | 80 | rdsca.rotation, `detail: summary` + output_file (JSON Lines) |" in md
    assert "## The moonshot: 48 databases in 3 accounts x 4 regions" in md
    assert "bench niceness" in md
    if os.path.exists(SHARED_BUNDLE):
        assert "| trust | 2 | first run" in md and "| trust | 2 | second run" in md
        assert checks["trust: second run changes nothing"]["ok"]
        assert checks["trust: at most 3 module runs per host when nothing changes"]["ok"]
        second = [m for m in data["measurements"] if m["scenario"] == "trust" and m["variant"] == "second"]
        assert second and set(second[0]["extra"]["module_runs_per_host"]) == {"client-0001", "client-0002"}
