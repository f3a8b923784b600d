# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: inventory_result
short_description: An rds_ca_facts result with every database as a full record, whatever its detail
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - Takes the registered result of C(rdsca.rotation.rds_ca_facts) and returns it with C(databases) holding full
    records, so that later tasks can use every key (C(selectattr('environment', ...)) fails on a record without it).
  - With C(detail=compact), the keys the module left out are put back with their default value (the module's notes
    list them).
  - With C(detail=summary), the records are read from the module's C(output_file) (JSON Lines, one record at a time);
    the number read must match the result's C(summary.databases), so a file from another run is refused.
  - With C(detail=full), the records are returned as they are.
options:
  _input:
    description: The registered result of C(rdsca.rotation.rds_ca_facts).
    type: dict
    required: true
"""

EXAMPLES = r"""
---
- name: Inventory a large estate, records in a file
  rdsca.rotation.rds_ca_facts:
    regions: [us-east-1]
    detail: summary
    output_file: /var/tmp/rdsca/inventory.jsonl
  register: facts

- name: Every database, full records
  ansible.builtin.set_fact:
    facts_full: "{{ facts | rdsca.rotation.inventory_result }}"

- name: The staging databases that need rotation
  ansible.builtin.set_fact:
    staging: >-
      {{ (facts | rdsca.rotation.inventory_result).databases
         | selectattr('environment', 'equalto', 'staging') | selectattr('needs_rotation')
         | map(attribute='identifier') | list }}
"""

RETURN = r"""
_value:
  description: The same result, C(databases) holding every database as a full record.
  type: dict
"""

from ansible.errors import AnsibleFilterError

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def inventory_result(result):
    """The registered rds_ca_facts result with full ``databases``."""
    from ansible_collections.rdsca.rotation.plugins.module_utils.inventory_records import inventory_result as _inventory_result
    try:
        return _inventory_result(result)
    except (ValueError, OSError) as exc:
        raise AnsibleFilterError("rdsca.rotation.inventory_result: %s" % exc) from None


class FilterModule(object):
    """The rdsca.rotation.inventory_result filter."""

    def filters(self):
        return {"inventory_result": inventory_result}
