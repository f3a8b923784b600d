# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: client_trust_gaps
short_description: "The client hosts whose trust stores lack the target CA, or could not be updated"
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - "After the pre-flight audit (O(step=audit)): every client that could not be audited, or whose trust stores lack the
    target CA, with C(why) and C(fixed_by_this_run) (the trust update of this run installs it: C(client_trust_update)
    and the host's C(rdsca_client_manage_trust))."
  - "After the trust update (O(step=install)): every managed client the update did not reach or failed on (none when the
    run does not update trust)."
  - "Reads each host's C(rdsca_client_state) (set by the playbooks' client plays) from O(hostvars)."
positional: _input, hostvars, step, settings
options:
  _input:
    description:
      - "The client host names."
    type: list
    elements: str
    required: true
  hostvars:
    description:
      - "C(hostvars)."
    type: dict
    required: true
  step:
    description:
      - "V(audit) or V(install)."
    type: str
    required: true
  settings:
    description:
      - "The resolved settings (C(rdsca_cfg))."
    type: dict
    required: true
"""

EXAMPLES = r"""
---
- name: List the clients that lack the target CA
  ansible.builtin.set_fact:
    rdsca_clients_lacking: "{{ rdsca_client_hosts | rdsca.rotation.client_trust_gaps(hostvars, 'audit', rdsca_cfg) }}"
"""

RETURN = r"""
_value:
  description:
    - "One C({host, why}) per client (with C(fixed_by_this_run) for V(audit)), in the order of the input."
  type: list
"""

from ansible.errors import AnsibleFilterError

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def client_trust_gaps(hosts, hostvars, step, settings):
    """The clients whose trust is not right after the audit or the install step."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import rotate_playbook
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.rotate_playbook import check_list as _check_list
    _check_list(hosts, "the client hosts", "client_trust_gaps")
    if step not in ("audit", "install"):
        raise AnsibleFilterError("rdsca.rotation.client_trust_gaps: step must be audit or install, got %r" % (step,))
    return rotate_playbook.client_trust_gaps(hosts, hostvars, step, settings)


class FilterModule(object):
    """The rdsca.rotation.client_trust_gaps filter."""

    def filters(self):
        return {"client_trust_gaps": client_trust_gaps}
