# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests for plugins/module_utils/inventory_records.py: compact records, the JSON Lines file (issue 20)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.rdsca.rotation.plugins.module_utils import inventory_records
from ansible_collections.rdsca.rotation.plugins.module_utils.inventory import build_region
from ansible_collections.rdsca.rotation.plugins.module_utils.inventory_records import (
    DATABASE_DEFAULTS,
    check_output_file,
    compact_database,
    expand_database,
    inventory_databases,
    inventory_result,
    read_records,
    shape_databases,
    write_records,
)

from ansible_collections.rdsca.rotation.tests.unit.plugins.module_utils.test_inventory import NOW, _fleet_raw, options


def fleet():
    databases, _facts = build_region("us-east-1", _fleet_raw(), options(), NOW)
    return databases


def test_compact_records_expand_to_the_same_answer():
    """Standalone, replica, Aurora and Multi-AZ cluster members, pending change, maintenance, docdb: same meaning."""
    databases = fleet()
    compact = [compact_database(d) for d in databases]
    assert [expand_database(c) for c in compact] == databases
    # Nothing left out that is not at its default; every other key always present.
    for full, small in zip(databases, compact):
        assert set(full) - set(small) == set(k for k in DATABASE_DEFAULTS if full[k] == DATABASE_DEFAULTS[k])
        assert set(full) - set(DATABASE_DEFAULTS) <= set(small)
    by_id = dict((c["identifier"], c) for c in compact)
    # A standalone instance without tags: no cluster keys, no replicas, no pending change.
    assert not {"cluster_id", "cluster_role", "read_replicas", "pending_ca", "tags"} & set(by_id["mysql57"])
    # A cluster member and a replica keep theirs; false cluster_writer (a reader) is not a default (null is).
    assert by_id["aurora-2"]["cluster_writer"] is False and by_id["aurora-1"]["cluster_role"] == "writer"
    assert by_id["pg16"]["read_replicas"] == ["pg16-replica"]
    assert len(json.dumps(compact)) < len(json.dumps(databases))


def test_expand_gives_fresh_defaults():
    one, two = expand_database({"identifier": "a", "region": "r"}), expand_database({"identifier": "b", "region": "r"})
    one["read_replicas"].append("x")
    one["tags"]["k"] = "v"
    assert two["read_replicas"] == [] and two["tags"] == {} and DATABASE_DEFAULTS["read_replicas"] == []


def test_compact_keeps_zero_and_empty_string_values():
    """0 == False in Python: a value of another type than the default is never left out."""
    record = {"identifier": "a", "region": "r", "multi_az": 0, "environment": ""}
    assert compact_database(record) == record


def test_shape_databases():
    databases = fleet()
    assert shape_databases(databases, "full") == databases
    assert shape_databases(databases, "summary") == []
    assert shape_databases(databases, "compact") == [compact_database(d) for d in databases]


def test_file_round_trip_mode_and_atomic_replace(tmp_path):
    databases = fleet()
    path = str(tmp_path / "new" / "dir" / "inventory.jsonl")
    resolved, why = check_output_file(path)
    assert why is None and resolved == path
    size = write_records(resolved, shape_databases(databases, "compact"))
    assert size == os.path.getsize(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, encoding="utf-8") as handle:
        assert len(handle.read().splitlines()) == len(databases)
    assert list(read_records(path)) == databases
    # Replaced, not appended to; no temporary file left behind.
    write_records(resolved, shape_databases(databases[:2], "full"))
    assert list(read_records(path)) == databases[:2]
    assert os.listdir(os.path.dirname(path)) == ["inventory.jsonl"]


def test_a_link_we_control_is_resolved_and_the_target_replaced_by_rename(tmp_path):
    """safe_files.resolve follows a link only root or we control (another user's is refused, as safe_files' own
    tests show); the file it names is then replaced by rename in its directory, never written through."""
    target = tmp_path / "target.jsonl"
    target.write_text("old\n")
    link = tmp_path / "out.jsonl"
    link.symlink_to(target)
    resolved, why = check_output_file(str(link))
    assert why is None and resolved == str(target)
    inode = os.stat(target).st_ino
    write_records(resolved, [{"identifier": "a", "region": "r"}])
    assert os.stat(target).st_ino != inode and os.path.islink(link)
    assert list(read_records(str(link))) == [expand_database({"identifier": "a", "region": "r"})]


@pytest.mark.parametrize("path, message", [
    ("", "must be a non-empty path"),
    ("relative/inventory.jsonl", "must be an absolute path"),
    ("/tmp/", "names a directory"),
])
def test_bad_output_file(path, message):
    resolved, why = check_output_file(path)
    assert resolved is None and message in why


def test_output_file_that_is_a_directory_or_under_a_file(tmp_path):
    (tmp_path / "d").mkdir()
    assert "is not a regular file" in check_output_file(str(tmp_path / "d"))[1]
    (tmp_path / "f").write_text("x")
    assert "is not a directory" in check_output_file(str(tmp_path / "f" / "inventory.jsonl"))[1]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_output_file_in_a_directory_we_cannot_write(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert "permission denied" in check_output_file(str(locked / "inventory.jsonl"))[1]
    finally:
        locked.chmod(0o700)


def test_inventory_databases_from_each_detail(tmp_path):
    databases = fleet()
    summary = {"databases": len(databases)}
    assert inventory_databases({"detail": "full", "databases": databases, "summary": summary}) == databases
    compact = shape_databases(databases, "compact")
    assert inventory_databases({"detail": "compact", "databases": compact, "summary": summary}) == databases
    path = str(tmp_path / "inventory.jsonl")
    write_records(path, compact)
    registered = {"detail": "summary", "databases": [], "output_file": path, "summary": summary, "regions": {}}
    full = inventory_result(registered)
    assert full["databases"] == databases and full["regions"] == {} and registered["databases"] == []
    # Older results (no detail key) are full.
    assert inventory_databases({"databases": databases}) == databases


def test_inventory_databases_refuses_another_runs_file_and_garbage(tmp_path):
    databases = fleet()
    path = str(tmp_path / "inventory.jsonl")
    write_records(path, databases[:3])
    with pytest.raises(ValueError, match="holds 3 databases, the result's summary %d" % len(databases)):
        inventory_databases({"detail": "summary", "output_file": path, "summary": {"databases": len(databases)}})
    with pytest.raises(ValueError, match="no output_file"):
        inventory_databases({"detail": "summary", "databases": [], "summary": {"databases": 1}})
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"identifier": "a", "region": "r"}\nnot json\n')
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        list(read_records(str(bad)))
    bad.write_text('["a list"]\n')
    with pytest.raises(ValueError, match="line 1 is not a database record"):
        list(read_records(str(bad)))
    with pytest.raises(ValueError, match="registered result"):
        inventory_databases(["not", "a", "dict"])


def test_records_are_one_line_each_and_utf8():
    data = inventory_records.records_jsonl([{"identifier": "a", "region": "r", "tags": {"Team": "Zürich\nops"}}])
    assert data.count(b"\n") == 1 and "Zürich".encode() in data
