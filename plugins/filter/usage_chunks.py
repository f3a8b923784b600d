# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: usage_chunks
short_description: "The endpoints cut into chunks for rds_ssl_usage, each with its number and title"
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - "An Ansible module prints nothing while it runs. Running C(rdsca.rotation.rds_ssl_usage) once per chunk prints a
    line as each chunk finishes, and the chunk's title (V(chunk 2 of 5: orders-prod, billing-prod, web-prod (+197)))
    names it in the task name. The C(rdsca.rotation.ssl_usage_merge) filter turns the chunks' results back into
    what one call returns."
positional: _input, size
options:
  _input:
    description:
      - "The databases (as C(rds_ca_facts) returns them), in the order they are inspected."
    type: list
    elements: dict
    required: true
  size:
    description:
      - "How many databases a chunk holds (at least 1); the last chunk holds the rest."
    type: int
    required: true
  shown:
    description:
      - "How many identifiers the title names."
    type: int
    default: 3
"""

EXAMPLES = r"""
---
- name: Cut the endpoints into chunks of 200
  ansible.builtin.set_fact:
    chunks: "{{ inventory.databases | rdsca.rotation.usage_chunks(200) }}"

# playbooks/tasks/ssl_usage.yml includes a task file per chunk, whose rds_ssl_usage task is named by the title.
- name: Name each chunk
  ansible.builtin.debug:
    msg: "{{ item.title }} ({{ item.databases | length }} databases)"
  loop: "{{ chunks }}"
  loop_control:
    label: "chunk {{ item.number }} of {{ item.count }}"
"""

RETURN = r"""
_value:
  description:
    - "One dict per chunk: C(number) (from 1), C(count) (how many chunks), C(title) and C(databases)."
  type: list
  elements: dict
"""

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def usage_chunks(databases, size, shown=3):
    """The endpoints cut into chunks of ``size``, each with its number, the count and a title."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import rotate_playbook
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.rotate_playbook import check_list as _check_list
    return rotate_playbook.usage_chunks(_check_list(databases, "the databases", "usage_chunks"), size, int(shown))


class FilterModule(object):
    """The rdsca.rotation.usage_chunks filter."""

    def filters(self):
        return {"usage_chunks": usage_chunks}
