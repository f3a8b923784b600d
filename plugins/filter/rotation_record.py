# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: rotation_record
short_description: "Add one batch's rds_ca_rotate results to its phase's record, and decide whether the phase halts"
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - "Adds the databases (each with C(batch)), failures, regions and errors of one batch to the phase's record, and the
    labels rotated with and without endpoint verification."
  - "A batch is bad when a result lists C(failures) (failed, rolled back, blocked, unverified: what
    C(rdsca.rotation.rds_ca_rotate) decides) or a call failed without results. With O(halt) and batches left,
    C(halted_after_batch) is set: the later batches are not started."
positional: _input, parts, batch, verified, number, count
options:
  _input:
    description:
      - "The phase's record so far (empty or null for the first batch)."
    type: raw
    required: true
  parts:
    description:
      - "The registered C(rdsca.rotation.rds_ca_rotate) results of the batch (the calls that ran)."
    type: list
    elements: dict
    required: true
  batch:
    description:
      - "The databases of the batch."
    type: list
    elements: dict
    required: true
  verified:
    description:
      - "The databases of the batch rotated with endpoint verification."
    type: list
    elements: dict
    required: true
  number:
    description:
      - "The batch's number, from 1."
    type: int
    required: true
  count:
    description:
      - "How many batches the phase has."
    type: int
    required: true
  halt:
    description:
      - "Halt the phase after a bad batch (production with C(rdsca_halt_on_failure))."
    type: bool
    default: false
"""

EXAMPLES = r"""
---
- name: Record the batch
  ansible.builtin.set_fact:
    record: "{{ record | rdsca.rotation.rotation_record([result], batch, batch, 1, 3, halt=true) }}"
"""

RETURN = r"""
_value:
  description:
    - "The record: C(databases), C(failures), C(errors), C(regions), C(verified), C(unverified), C(batches),
      C(halted_after_batch)."
  type: dict
"""

from ansible.errors import AnsibleFilterError

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def rotation_record(previous, parts, batch, verified, number, count, halt=False):
    """The phase's record with one more batch."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import rotate_playbook
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.rotate_playbook import check_list as _check_list
    for value, what in ((parts, "the rds_ca_rotate results"), (batch, "the batch"), (verified, "the verified databases")):
        _check_list(value, what, "rotation_record")
    if previous is not None and not isinstance(previous, dict):
        raise AnsibleFilterError("rdsca.rotation.rotation_record: the record must be a dict or null")
    return rotate_playbook.rotation_record(previous, parts, batch, verified, int(number), int(count), bool(halt))


class FilterModule(object):
    """The rdsca.rotation.rotation_record filter."""

    def filters(self):
        return {"rotation_record": rotation_record}
