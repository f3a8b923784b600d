# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Families of databases that are rotated together, and batches that keep them whole.

A family is every member of a DB cluster, and a source with all its read replicas (replicas of
replicas too) in any region. RDS names a same-region replica's source by identifier and a
cross-region one's by ARN (``ReadReplicaSourceDBInstanceIdentifier``); a source lists its
replicas the same way (``ReadReplicaDBInstanceIdentifiers``). Both directions are followed,
so a family is found even when only one side is in the list.

Used by the playbooks through the ``rdsca.rotation.replica_families`` and
``rdsca.rotation.rotation_batches`` filters.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import db_label
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import split_label

Database = dict[str, Any]


def label_of(reference: Any, region: Optional[str], account: Optional[str] = None) -> Optional[str]:
    """The label (rds_domain.db_label) of an identifier (in ``region``, ``account``) or an ARN
    (``arn:aws:rds:<region>:<account>:db:<id>``; its account is used when ``account`` is given)."""
    if not reference:
        return None
    text = str(reference)
    if text.startswith("arn:"):
        parts = text.split(":")
        if len(parts) >= 7 and parts[2] == "rds":
            return db_label(parts[3], parts[-1], (parts[4] or account) if account else None)
        return None
    return db_label(region, text, account)


def assign_families(databases: Iterable[Database]) -> list[Database]:
    """Copies of ``databases`` with ``label`` and ``family`` (the label of the family's root)."""
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        root = node
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(node, node) != root:
            parent[node], node = root, parent[node]
        return root

    def union(first: str, second: str) -> None:
        a, b = find(first), find(second)
        if a != b:
            # The root stays the source (or the cluster): the node that others point at.
            parent[a] = b

    out = []
    accounts = {}
    for db in databases:
        region = db.get("region")
        label = db.get("label") or db_label(region, db.get("identifier"))
        # A label with the account (the accounts option): families never cross accounts.
        accounts[label] = split_label(label)[0]
        parent.setdefault(label, label)
        out.append((db, label, region))
    for db, label, region in out:
        if db.get("cluster_id"):
            cluster = db_label(region, db["cluster_id"], accounts[label])
            parent.setdefault(cluster, cluster)
            union(label, cluster)
    for db, label, region in out:
        for replica in db.get("read_replicas") or []:
            other = label_of(replica, region, accounts[label])
            if other:
                parent.setdefault(other, other)
                # The source is the root: point the replica's tree at the source's.
                union(other, label)
        source = label_of(db.get("read_replica_source"), region, accounts[label])
        if source:
            parent.setdefault(source, source)
            union(label, source)
    result = []
    for db, label, region in out:
        item = dict(db)
        item["label"] = label
        item["family"] = find(label)
        result.append(item)
    return result


def batches(databases: Iterable[Database], size: int, blind: Iterable[str] = ()) -> list[list[Database]]:
    """``databases`` (with ``family``) in batches of at most ``size``, families whole.

    Families with a member in ``blind`` (labels) go after the others; otherwise families keep
    the order of their names, and members the order they came in.
    """
    members: dict[str, list[Database]] = {}
    order: list[str] = []
    for db in databases:
        family = db["family"]
        if family not in members:
            members[family] = []
            order.append(family)
        members[family].append(db)
    blind = set(blind or ())
    blind_families = set(f for f in order if any(db["label"] in blind for db in members[f]))
    ordered = sorted(f for f in order if f not in blind_families) + sorted(f for f in order if f in blind_families)
    out = []
    current: list[Database] = []
    for family in ordered:
        group = members[family]
        if current and len(current) + len(group) > size:
            out.append(current)
            current = []
        current = current + group
    if current:
        out.append(current)
    return out
