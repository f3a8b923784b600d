# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: client_coverage_findings
short_description: What the pre-flight does with the TLS clients nobody manages
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - Takes a P(rdsca.rotation.client_coverage#filter) result and decides what the pre-flight of the C(rotate) and
    C(audit) playbooks does with it.
  - With O(stop_on_unmanaged) (the playbooks' C(rdsca_stop_on_unmanaged_tls_clients)), TLS clients that no managed
    host accounts for are problems, which stop a rotation before anything is changed; so is the absence of any client
    evidence (no sessions listed and no complete connection logs on any database), since the stop was asked for and
    cannot be decided blind. Otherwise they are warnings for the report.
  - TLS clients behind a shared address (a NAT gateway, a load balancer, an RDS Proxy) are always a warning, since the
    address is not a host, and the clients behind it cannot be told apart.
positional: _input
options:
  _input:
    description:
      - The result of P(rdsca.rotation.client_coverage#filter).
    type: dict
    required: true
  stop_on_unmanaged:
    description:
      - Unmanaged TLS clients stop the rotation (problems) instead of being reported (warnings).
    type: bool
    default: false
"""

EXAMPLES = r"""
---
- name: Decide what the clients nobody manages mean for this rotation
  ansible.builtin.set_fact:
    coverage_findings: "{{ coverage | rdsca.rotation.client_coverage_findings(stop_on_unmanaged=true) }}"

- name: Show them
  ansible.builtin.debug:
    msg: "{{ coverage_findings.lines + coverage_findings.problems }}"
"""

RETURN = r"""
_value:
  description:
    - C(stop) (true when there are problems), C(problems) (each stops a rotation before any change), C(warnings)
      (for the report) and C(lines) (what the pre-flight shows - the TLS clients nobody manages, the managed hosts
      never seen, the shared addresses, how far the evidence goes).
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def client_coverage_findings(coverage, stop_on_unmanaged=False):
    """Problems (stop), warnings and lines for the pre-flight, from a client_coverage result."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.coverage_report import preflight_findings
    if not isinstance(stop_on_unmanaged, bool):
        raise AnsibleFilterError("client_coverage_findings: stop_on_unmanaged must be true or false, got %r"
                                 % (stop_on_unmanaged,))
    try:
        return preflight_findings(coverage, stop_on_unmanaged)
    except ValueError as exc:
        raise AnsibleFilterError("client_coverage_findings: %s" % to_native(exc)) from exc


class FilterModule(object):
    def filters(self):
        return {"client_coverage_findings": client_coverage_findings}
