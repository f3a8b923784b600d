# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: batch_title
short_description: "The name of a batch in task names and progress lines"
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - "V(batch 2 of 5: orders-prod, billing-prod, web-prod (+2)): the batch's number, the phase's count and the first
    identifiers of the batch."
positional: _input, number, count
options:
  _input:
    description:
      - "The databases of the batch."
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
  shown:
    description:
      - "How many identifiers to name."
    type: int
    default: 3
"""

EXAMPLES = r"""
---
- name: "Rotate {{ rdsca_batch | rdsca.rotation.batch_title(2, 5) }}"
  ansible.builtin.debug:
    msg: rotating
"""

RETURN = r"""
_value:
  description:
    - "The title."
  type: str
"""

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def batch_title(batch, number, count, shown=3):
    """The title of a batch."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import rotate_playbook
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.rotate_playbook import check_list as _check_list
    return rotate_playbook.batch_title(_check_list(batch, "the batch", "batch_title"), int(number), int(count), int(shown))


class FilterModule(object):
    """The rdsca.rotation.batch_title filter."""

    def filters(self):
        return {"batch_title": batch_title}
