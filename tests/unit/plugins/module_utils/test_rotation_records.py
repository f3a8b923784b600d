# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests for plugins/module_utils/rotation_records.py: compact rds_ca_rotate items (issue 20)."""

from __future__ import annotations

from ansible_collections.rdsca.rotation.plugins.module_utils.rotation_records import (
    UNIT_DEFAULTS,
    compact_unit,
    expand_unit,
    shape_units,
)
from ansible_collections.rdsca.rotation.tests.unit.plugins.plugin_utils.fleet_results import rotate_input


def units():
    data = rotate_input(200)
    return [item for record in data["rotations"].values() for item in record["databases"]]


def test_compact_items_expand_to_the_same_items():
    items = units()
    compact = shape_units(items, "compact")
    assert [expand_unit(c) for c in compact] == items
    assert shape_units(items, "full") == items
    for full, small in zip(items, compact):
        assert set(full) - set(small) == set(k for k in UNIT_DEFAULTS if full[k] == UNIT_DEFAULTS[k])
        assert small["status"] == full["status"] and small["label"] == full["label"]
    # A rotated item keeps its statuses and times; an unchanged one drops the empty ones.
    rotated = next(c for c in compact if c["status"] == "rotated")
    unchanged = next(c for c in compact if c["status"] == "unchanged")
    assert rotated["statuses_seen"] and rotated["started_at"]
    assert not {"statuses_seen", "started_at", "error", "verification", "notes"} & set(unchanged)


def test_expand_gives_fresh_lists_and_keeps_false_and_zero():
    one, two = expand_unit({"label": "a"}), expand_unit({"label": "b"})
    one["notes"].append("x")
    assert two["notes"] == [] and UNIT_DEFAULTS["notes"] == []
    kept = {"label": "a", "confirmed": False, "duration_seconds": 0.0}
    assert compact_unit(kept) == kept
