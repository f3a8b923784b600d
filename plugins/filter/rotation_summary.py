# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: rotation_summary
short_description: "What the rotate playbook prints about a rotation phase, or one of its batches"
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - "Without O(batch): the lines printed after a phase - counts by status, each database not rotated with its reason,
    errors, and where the phase halted."
  - "With O(batch): the line printed when that batch finishes (its statuses, its failures, whether the phase halts)."
positional: _input, phase, batches
options:
  _input:
    description:
      - "The phase's record (the C(rdsca.rotation.rotation_record) filter)."
    type: dict
    required: true
  phase:
    description:
      - "The phase's name."
    type: str
    required: true
  batches:
    description:
      - "How many batches the phase has."
    type: int
    required: true
  check_mode:
    description:
      - "The run is a dry run (the statuses are planned)."
    type: bool
    default: false
  batch:
    description:
      - "The number of the batch that just finished."
    type: int
"""

EXAMPLES = r"""
---
- name: Summarise the rotation
  ansible.builtin.debug:
    msg: "{{ rdsca_rotations.production | rdsca.rotation.rotation_summary('production', 3) }}"
"""

RETURN = r"""
_value:
  description:
    - "The lines."
  type: list
"""

from ansible.errors import AnsibleFilterError

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def rotation_summary(record, phase, batches, check_mode=False, batch=None):
    """The lines about a phase, or the line about one of its batches."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import rotate_playbook
    if not isinstance(record, dict):
        raise AnsibleFilterError("rdsca.rotation.rotation_summary needs the phase's record (a dict)")
    if batch is not None:
        return [rotate_playbook.batch_outcome(record, int(batch), int(batches))]
    return rotate_playbook.rotation_summary(record, phase, int(batches), bool(check_mode))


class FilterModule(object):
    """The rdsca.rotation.rotation_summary filter."""

    def filters(self):
        return {"rotation_summary": rotation_summary}
