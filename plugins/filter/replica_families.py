# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: replica_families
short_description: Give each database the family it is rotated with (its cluster, or its replication tree in any region)
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - Sets C(label) (C(region/identifier)) and C(family) on each database (items of C(rdsca.rotation.rds_ca_facts)
    RV(databases)).
  - A family is every member of a DB cluster, and a source with all its read replicas, in any region (cross-region
    links are ARNs, and are followed both ways). C(family) is the label of the family's root (the first source, or
    C(region/cluster id)).
  - The same rule as the C(rdsca.rotation.rotation_batches) filter.
options:
  _input:
    description:
      - The databases, each with C(region) and C(identifier).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
---
- name: Group the databases by family
  ansible.builtin.set_fact:
    dbs: "{{ rds_ca.databases | rdsca.rotation.replica_families }}"
"""

RETURN = r"""
_value:
  description:
    - The databases, in the same order, each with C(label) and C(family).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def replica_families(databases):
    """The databases with ``label`` and ``family`` set."""
    from ansible_collections.rdsca.rotation.plugins.module_utils.families import assign_families
    if not isinstance(databases, list) or not all(isinstance(db, dict) for db in databases):
        raise AnsibleFilterError("rdsca.rotation.replica_families needs a list of databases (dicts)")
    return assign_families(databases)


class FilterModule(object):
    """The rdsca.rotation.replica_families filter."""

    def filters(self):
        return {"replica_families": replica_families}
