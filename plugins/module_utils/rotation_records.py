# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""rds_ca_rotate's per-database results, compact (issue 20): the keys at their default value left out.

``detail: compact`` leaves out the keys of :data:`UNIT_DEFAULTS` whose value is that default (no cluster, no
reason, no error, nothing pending, no verification or rollback, no notes...). :func:`expand_unit` puts them
back; the ``rdsca.rotation.rotation_record`` filter (plugin_utils.rotate_playbook) does so for the playbooks,
so that a compact result means exactly what the full one means. Pure standard library.
"""

from __future__ import annotations

from typing import Any, Iterable

from ansible_collections.rdsca.rotation.plugins.module_utils.inventory_records import with_defaults, without_defaults

Item = dict[str, Any]

DETAILS = ("compact", "full")
DEFAULT_DETAIL = "full"

UNIT_DEFAULTS: Item = {
    "cluster_id": None,
    "cluster_role": None,
    "reason": None,
    "error": None,
    "previous_pending_ca": None,
    "pending_ca": None,
    "statuses_seen": [],
    "confirmed": None,
    "blocked_by": None,
    "verification": None,
    "rollback": None,
    "notes": [],
    "started_at": None,
    "finished_at": None,
    "duration_seconds": None,
}


def compact_unit(unit: Item) -> Item:
    """``unit`` without the keys holding their :data:`UNIT_DEFAULTS` value (same type too: 0 is not None)."""
    return without_defaults(unit, UNIT_DEFAULTS)


def expand_unit(unit: Item) -> Item:
    """A full result item from a compact (or full) one (a new dict, fresh default lists)."""
    return with_defaults(unit, UNIT_DEFAULTS)


def shape_units(units: Iterable[Item], detail: str) -> list[Item]:
    return [compact_unit(u) for u in units] if detail == "compact" else list(units)
