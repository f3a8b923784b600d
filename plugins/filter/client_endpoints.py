# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: client_endpoints
short_description: "The endpoints one client host verifies after a phase"
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - "The verification targets of a phase (the C(rdsca.rotation.verify_targets) filter) that match the host's
    C(rdsca_client_databases) patterns (as the C(rdsca.rotation.client_databases) filter), as endpoints for the
    C(rdsca.rotation.ca_trust) role's verify entry point."
positional: _input, patterns
options:
  _input:
    description:
      - "The verification targets."
    type: list
    elements: dict
    required: true
  patterns:
    description:
      - "The host's patterns, a list or a string separated by commas, semicolons or blanks."
    type: raw
    required: true
  connect_host:
    description:
      - "The address to connect to instead of each endpoint's name."
    type: str
  ca_cert:
    description:
      - "The CA file to verify with instead of the host's trust store."
    type: str
"""

EXAMPLES = r"""
---
- name: Choose the endpoints this client checks
  ansible.builtin.set_fact:
    rdsca_client_endpoints: "{{ targets | rdsca.rotation.client_endpoints(rdsca_client_databases | default(['*'])) }}"
"""

RETURN = r"""
_value:
  description:
    - "C({name, server_name, port, protocol}) per endpoint (with C(connect_host) and C(ca_cert) when given)."
  type: list
"""

from ansible.errors import AnsibleFilterError

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def client_endpoints(targets, patterns, connect_host=None, ca_cert=None):
    """The endpoints the client verifies."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import rotate_playbook
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.rotate_playbook import check_list as _check_list
    _check_list(targets, "the verification targets", "client_endpoints")
    if rotate_playbook.split_patterns(patterns) is None:
        raise AnsibleFilterError("rdsca.rotation.client_endpoints: patterns must be a list or a string, got %r" % (patterns,))
    return rotate_playbook.client_endpoints(targets, patterns, connect_host or None, ca_cert or None)


class FilterModule(object):
    """The rdsca.rotation.client_endpoints filter."""

    def filters(self):
        return {"client_endpoints": client_endpoints}
