# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: rotation_batches
short_description: Cut the databases of a rotation phase into batches that keep families whole
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - Cuts databases (items of C(rdsca.rotation.rds_ca_facts) RV(databases)) into batches of at most O(size)
    databases, for the rotate playbook's production phase.
  - A family is never split across batches, so that C(rdsca.rotation.rds_ca_rotate) keeps its members in
    order within one call. A family is every member of a DB cluster, and a source with all its read replicas
    (replicas of replicas too), B(in any region). A cross-region replica names its source by ARN
    (C(ReadReplicaSourceDBInstanceIdentifier)), and a source lists its cross-region replicas by ARN
    (C(ReadReplicaDBInstanceIdentifiers)); both links are followed.
  - A family larger than O(size) is a batch of its own.
  - Families with no member in O(blind) come first (the batches the controller can verify), then the others;
    within each group, families are in the order of their name.
  - Each database in the result has C(family), the label (C(region/identifier)) of the family's root (the
    first source, or C(region/cluster id)).
positional: _input, size
options:
  _input:
    description:
      - The databases, each with C(region) and C(identifier) (and, when known, C(arn), C(cluster_id),
        C(read_replica_source), C(read_replicas)).
    type: list
    elements: dict
    required: true
  size:
    description:
      - The largest number of databases in a batch (C(rdsca_max_concurrent)); a family is kept whole even
        when it is larger.
    type: int
    required: true
  blind:
    description:
      - Labels (C(region/identifier)) of the databases the controller cannot verify; their families go last.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
---
- name: Cut production into batches of rdsca_max_concurrent
  ansible.builtin.set_fact:
    batches: "{{ production_dbs | rdsca.rotation.rotation_batches(rdsca_max_concurrent, blind=unreachable) }}"
"""

RETURN = r"""
_value:
  description:
    - The batches, each a list of databases (the input items with C(label) and C(family) set).
  type: list
  elements: list
"""

from ansible.errors import AnsibleFilterError

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def rotation_batches(databases, size, blind=None):
    """The databases in batches of at most ``size``, families whole, verifiable families first."""
    from ansible_collections.rdsca.rotation.plugins.module_utils.families import assign_families
    from ansible_collections.rdsca.rotation.plugins.module_utils.families import batches
    if not isinstance(databases, list) or not all(isinstance(db, dict) for db in databases):
        raise AnsibleFilterError("rdsca.rotation.rotation_batches needs a list of databases (dicts)")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise AnsibleFilterError("rdsca.rotation.rotation_batches: size must be a whole number of 1 or more, got %r" % (size,))
    return batches(assign_families(databases), size, blind or [])


class FilterModule(object):
    """The rdsca.rotation.rotation_batches filter."""

    def filters(self):
        return {"rotation_batches": rotation_batches}
