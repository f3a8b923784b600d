# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How rds_ca_facts hands over its per-database records at 5,000+ databases (issue 20).

* ``detail: full`` returns every key of every record (as :func:`inventory.database_facts` builds it).
* ``detail: compact`` leaves out the keys whose value is the default in :data:`DATABASE_DEFAULTS`
  (a standalone instance has no cluster, no replica, no pending change...). :func:`expand_database`
  puts them back: the same answer, in fewer bytes.
* ``detail: summary`` returns no records at all (the summary and the per-region facts only);
  with ``output_file`` every record is written there, one JSON object a line (JSON Lines).
* ``output_file`` is checked before any AWS call (:func:`check_output_file`) and written
  atomically, mode 0600, through module_utils.safe_files (:func:`write_records`), which never
  follows a symbolic link another user controls.

The collection's filters read both forms back with :func:`inventory_databases` (the
``rdsca.rotation.inventory_result`` filter), so that playbooks see full records whatever the detail.
Pure standard library: the filter plugins import it on the controller.
"""

from __future__ import annotations

import copy
import json
import os
import stat
from typing import Any, Iterable, Iterator, Optional

from ansible_collections.rdsca.rotation.plugins.module_utils import safe_files

Item = dict[str, Any]

DETAILS = ("compact", "full", "summary")
DEFAULT_DETAIL = "full"

# The keys a compact record leaves out when they hold this value. Every other key is always present.
DATABASE_DEFAULTS: Item = {
    "multi_az": False,
    "cluster_id": None,
    "cluster_type": None,
    "cluster_role": None,
    "cluster_writer": None,
    "read_replica_source": None,
    "read_replicas": [],
    "endpoint_address": None,
    "ca_valid_till": None,
    "certificate_valid_till": None,
    "days_left": None,
    "pending_ca": None,
    "pending_maintenance": None,
    "supported_cas": None,
    "tags": {},
    "environment": None,
}

OUTPUT_FILE_MODE = 0o600
# A record of the file is one line; a line longer than this is not one of ours.
MAX_LINE_BYTES = 1 << 20


def without_defaults(item: Item, defaults: Item) -> Item:
    """``item`` without the keys that hold their ``defaults`` value, of the same type too (a new dict).
    The compact form of both modules' records (rotation_records uses it for rds_ca_rotate)."""
    return dict((key, value) for key, value in item.items()
                if key not in defaults or value != defaults[key]
                or type(value) is not type(defaults[key]))  # noqa: E721  (0 is not False)


def with_defaults(item: Item, defaults: Item) -> Item:
    """A full item from a compact (or full) one: every left-out key with its default (a new dict, fresh lists)."""
    full = dict(item)
    for key, default in defaults.items():
        if key not in full:
            full[key] = copy.copy(default)
    return full


def compact_database(fact: Item) -> Item:
    """``fact`` without the keys that hold their :data:`DATABASE_DEFAULTS` value (a new dict)."""
    return without_defaults(fact, DATABASE_DEFAULTS)


def expand_database(record: Item) -> Item:
    """A full record from a compact (or full) one: every left-out key with its default (a new dict)."""
    return with_defaults(record, DATABASE_DEFAULTS)


def shape_databases(databases: Iterable[Item], detail: str) -> list[Item]:
    """The records as ``detail`` returns them (``summary``: none)."""
    if detail == "summary":
        return []
    if detail == "compact":
        return [compact_database(fact) for fact in databases]
    return list(databases)


# -- the JSON Lines file -----------------------------------------------------------------------

def check_output_file(path: Any) -> tuple[Optional[str], Optional[str]]:
    """``(resolved path, None)`` when ``path`` can be written, else ``(None, why)``. No AWS call is made before.

    The path must be absolute; links on the way are resolved only when root or the module's user
    controls them (safe_files.resolve); the directory must exist or be creatable, and an existing
    entry of that name must be a regular file (it is replaced atomically, never written through).
    """
    if not isinstance(path, str) or not path.strip():
        return None, "output_file must be a non-empty path"
    if not os.path.isabs(path):
        return None, "output_file must be an absolute path, got %s" % path
    if path.endswith("/"):
        return None, "output_file %s names a directory, not a file" % path
    try:
        resolved = safe_files.resolve(path)
    except safe_files.UnsafePathError as exc:
        return None, "output_file: %s" % exc
    directory, name = os.path.split(resolved)
    if not name or name in (".", ".."):
        return None, "output_file %s names a directory, not a file" % path
    existing = directory
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return None, "output_file: %s is not a directory" % existing
    if not os.access(existing, os.W_OK | os.X_OK):
        return None, "output_file: cannot write in %s (permission denied)" % existing
    if os.path.lexists(resolved):
        st = os.lstat(resolved)
        if not stat.S_ISREG(st.st_mode):
            return None, "output_file %s exists and is not a regular file" % resolved
    return resolved, None


def records_jsonl(databases: Iterable[Item]) -> bytes:
    """One JSON object a line (compact separators, UTF-8), a newline after each."""
    encode = json.JSONEncoder(separators=(",", ":"), sort_keys=False, ensure_ascii=False).encode
    return "".join(encode(db) + "\n" for db in databases).encode("utf-8")


def write_records(resolved: str, databases: Iterable[Item]) -> int:
    """Write the records to ``resolved`` (from :func:`check_output_file`) atomically, mode 0600; returns the bytes written."""
    directory, name = os.path.split(resolved)
    data = records_jsonl(databases)
    fd, _created = safe_files.open_directory(directory, create=True, dir_mode=0o755)
    try:
        safe_files.write_file(fd, name, data, OUTPUT_FILE_MODE)
    finally:
        os.close(fd)
    return len(data)


def read_records(path: str) -> Iterator[Item]:
    """The records of a file written by :func:`write_records`, expanded, one at a time (the file is streamed)."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if len(line) > MAX_LINE_BYTES:
                raise ValueError("%s line %d is longer than %d bytes: not an rds_ca_facts inventory file" % (path, number, MAX_LINE_BYTES))
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise ValueError("%s line %d is not JSON: not an rds_ca_facts inventory file" % (path, number)) from None
            if not isinstance(record, dict) or "identifier" not in record or "region" not in record:
                raise ValueError("%s line %d is not a database record (identifier, region...)" % (path, number))
            yield expand_database(record)


def inventory_databases(result: Item) -> list[Item]:
    """Every database of a registered rds_ca_facts result, as full records, whatever its ``detail``.

    From RV(databases) when the result has them, else from RV(output_file) (summary mode).
    """
    if not isinstance(result, dict):
        raise ValueError("expected the registered result of rdsca.rotation.rds_ca_facts (a dict), got %s" % type(result).__name__)
    databases = result.get("databases")
    detail = result.get("detail") or DEFAULT_DETAIL
    if detail == "summary" or (databases is None and result.get("output_file")):
        path = result.get("output_file")
        if not path:
            raise ValueError("this rds_ca_facts result has no databases (detail=summary) and no output_file to read them from")
        found = list(read_records(path))
        expected = (result.get("summary") or {}).get("databases")
        if expected is not None and expected != len(found):
            raise ValueError("%s holds %d databases, the result's summary %d: the file is not this run's inventory"
                             % (path, len(found), expected))
        return found
    if databases is None:
        return []
    if not isinstance(databases, list) or not all(isinstance(db, dict) for db in databases):
        raise ValueError("databases of the rds_ca_facts result must be a list of dicts")
    return [expand_database(db) for db in databases]


def inventory_result(result: Item) -> Item:
    """The registered rds_ca_facts result with full RV(databases) (see :func:`inventory_databases`)."""
    full = dict(result) if isinstance(result, dict) else result
    databases = inventory_databases(result)
    full["databases"] = databases
    return full
