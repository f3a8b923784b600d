"""Smoke run of benchmarks/profile_rotate_result_size.py (issue 20) with a tiny fleet, so that it cannot rot.

A real rds_ca_rotate against its own simulator process (port 0, a temporary directory: xdist-safe), once per
detail. Asserts the answers and the structure of the report - every database rotated in both runs, the compact
result smaller and the same once expanded - and that its answer check does catch a compact result that differs.
Never a time. About 15 s.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

from conftest import REPO

SCRIPT = os.path.join(REPO, "benchmarks", "profile_rotate_result_size.py")
N = 12


def test_rotate_result_size_smoke(tmp_path):
    out, data_file = tmp_path / "rotate-result-size.md", tmp_path / "rotate-result-size.json"
    cmd = [sys.executable, SCRIPT, "--n", str(N), "--modify-seconds", "0.05", "--reboot-seconds", "0.05",
           "--poll-interval", "0.2", "--out", str(out), "--json", str(data_file)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-3000:]

    data = json.loads(data_file.read_text(encoding="utf-8"))
    assert data["n"] == N and data["problems"] == []
    rows = {row["detail"]: row for row in data["rows"]}
    assert list(rows) == ["full", "compact"]
    for row in rows.values():
        assert row["rotated"] == N and row["api_calls"] >= N      # one ModifyDBInstance per database at least
        assert row["stdout_bytes"] > 0 and row["exit_json_cpu_s"] >= row["remove_values_cpu_s"] >= 0
    assert rows["compact"]["stdout_bytes"] < rows["full"]["stdout_bytes"]
    full, compact = data["results"]["full"], data["results"]["compact"]
    assert full["summary"] == compact["summary"] and full["summary"]["rotated"] == full["summary"]["total"] == N
    assert (full["detail"], compact["detail"]) == ("full", "compact")
    assert sorted(d["label"] for d in full["databases"]) == sorted(d["label"] for d in compact["databases"])
    assert all("reason" in d and "error" in d for d in full["databases"])
    assert not any("reason" in d or "error" in d for d in compact["databases"])   # at their default: left out
    assert {d["current_ca"] for d in compact["databases"]} == {"rds-ca-rsa2048-g1"}

    text = out.read_text(encoding="utf-8")
    assert f"real rotation: N={N}, 4 regions" in text
    assert "| detail | wall s | CPU s | exit_json CPU s | remove_values CPU s | stdout MiB | per database B |" in text
    assert "| full |" in text and "| compact |" in text
    assert "answer: both rotated every database" in text

    # The check itself: a compact result whose records differ once expanded (one CA not rotated, one key left out
    # that is not at its default) is reported, not passed.
    wrong_ca, missing_key = copy.deepcopy(compact), copy.deepcopy(compact)
    wrong_ca["databases"][0]["current_ca"] = "rds-ca-2019"
    del missing_key["databases"][-1]["would_restart"]
    code = ("import json, sys; sys.path.insert(0, 'benchmarks'); import profile_rotate_result_size as p; "
            "p.install_collection_loader(); d = json.load(sys.stdin); "
            "print(json.dumps([p.compare(d['full'], c, d['n']) for c in d['compacts']]))")
    payload = json.dumps({"full": full, "n": N, "compacts": [compact, wrong_ca, missing_key]})
    check = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, text=True, cwd=REPO,
                           timeout=120, check=False)
    assert check.returncode == 0, check.stderr[-3000:]
    same, ca_problems, key_problems = json.loads(check.stdout)
    assert same == []
    assert any("expand_unit(compact) != full" in problem for problem in ca_problems), ca_problems
    assert any("rotation_record filter" in problem for problem in ca_problems), ca_problems
    assert any("expand_unit(compact) != full" in problem for problem in key_problems), key_problems
