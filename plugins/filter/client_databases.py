# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: client_databases
short_description: The databases a client host uses, from its rdsca_client_databases patterns
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - Keeps the databases whose label (C(region/identifier)), identifier or cluster identifier matches one of
    O(patterns), shell-style (C(*) any text, C(?) one character, anything else literal), whole names only.
  - The rotate playbook uses it to choose what each client verifies after a phase, and, in check mode, to
    predict what the staging gate will get from the clients.
positional: _input, patterns
options:
  _input:
    description:
      - The databases, each with C(label), C(identifier) and, for a cluster member, C(cluster_id).
    type: list
    elements: dict
    required: true
  patterns:
    description:
      - The patterns, a list or a string separated by commas, semicolons, spaces or new lines (AWX text answers).
    type: raw
    required: true
"""

EXAMPLES = r"""
---
- name: The staging databases this client uses
  ansible.builtin.debug:
    msg: "{{ staging_targets | rdsca.rotation.client_databases(rdsca_client_databases | default(['*'])) }}"
"""

RETURN = r"""
_value:
  description:
    - The matching databases, in the same order.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def client_databases(databases, patterns):
    """The databases that match one of the patterns (label, identifier or cluster identifier)."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.rotate_playbook import match_databases
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.rotate_playbook import split_patterns
    if not isinstance(databases, list) or not all(isinstance(db, dict) for db in databases):
        raise AnsibleFilterError("rdsca.rotation.client_databases needs a list of databases (dicts)")
    found = split_patterns(patterns)
    if found is None:
        raise AnsibleFilterError("rdsca.rotation.client_databases: patterns must be a list or a string, got %r" % (patterns,))
    return match_databases(databases, found)


class FilterModule(object):
    """The rdsca.rotation.client_databases filter."""

    def filters(self):
        return {"client_databases": client_databases}
