# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: client_coverage
short_description: The database clients the inventory manages, and the TLS clients nobody manages
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - Compares the client addresses the databases saw - sessions watched by C(rdsca.rotation.rds_ssl_usage)
    (C(databases[].clients)) and connection log lines read through the RDS API (C(databases[].log_evidence.clients),
    with O(rdsca.rotation.rds_ssl_usage#module:log_window_days)) - with the addresses of the managed client hosts.
  - A host's addresses are its C(ansible_host) when that is an IP address, its gathered C(ansible_facts)
    (C(all_ipv4_addresses), C(all_ipv6_addresses), C(default_ipv4.address)) and the host variable
    C(rdsca_client_addresses) (a list, for addresses facts cannot see, such as an egress address).
  - Returns the TLS clients at addresses no managed host has (nothing will update their trust store, so the
    rotation may break them), the managed hosts never seen (in the evidence there is; RV(_value.evidence) says
    which databases had incomplete evidence), and the shared addresses - those in O(shared_addresses) (a NAT
    gateway, a load balancer, an RDS Proxy) or given for more than one managed host - where an address is not a host.
positional: _input, hosts, hostvars
options:
  _input:
    description:
      - The result of C(rdsca.rotation.rds_ssl_usage) (or its C(databases) list).
    type: raw
    required: true
  hosts:
    description:
      - The managed client hosts, usually C(groups['rds_clients']).
    type: list
    elements: str
    required: true
  hostvars:
    description:
      - C(hostvars), to read each host's addresses.
    type: raw
    required: true
  shared_addresses:
    description:
      - "Addresses or networks (CIDR) that stand for many clients, mapped to what they are, for example
        C({'10.0.5.17': 'NAT gateway nat-0abc', '10.0.8.0/24': 'RDS Proxy orders-proxy subnets'})."
    type: dict
    default: {}
"""

EXAMPLES = r"""
---
- name: Which TLS clients will nothing update?
  ansible.builtin.set_fact:
    coverage: >-
      {{ usage | rdsca.rotation.client_coverage(groups['rds_clients'] | default([]), hostvars,
                                                shared_addresses=rdsca_shared_addresses | default({})) }}

- name: Stop before production when an unmanaged TLS client would break
  ansible.builtin.assert:
    that: coverage.unmanaged_tls_clients | length == 0
    fail_msg: "TLS clients no inventory host accounts for: {{ coverage.unmanaged_tls_clients | map(attribute='address') | join(', ') }}"
"""

RETURN = r"""
_value:
  description:
    - C(unmanaged_tls_clients) and C(unmanaged_plaintext_clients) (address, databases, users, applications, sources
      C(sessions)/C(logs), first and last seen), C(managed_clients) (host, addresses, TLS or not, databases),
      C(never_seen_hosts), C(hosts_without_addresses) (no IP known - set C(ansible_host) to an IP, gather facts or set
      C(rdsca_client_addresses)), C(shared_addresses) (with C(shared_as) and the managed C(hosts) there),
      C(evidence) (databases, complete, incomplete) and C(summary) (counts, C(evidence_complete)).
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def client_coverage(usage, hosts, hostvars, shared_addresses=None):
    """Managed and unmanaged clients of the databases of an rds_ssl_usage result."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.client_coverage import coverage, host_addresses
    databases = usage.get("databases") if isinstance(usage, dict) else usage
    if not isinstance(databases, list):
        raise AnsibleFilterError("client_coverage: expected an rds_ssl_usage result (with databases), got %s"
                                 % type(usage).__name__)
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise AnsibleFilterError("client_coverage: hosts must be a list of host names, e.g. groups['rds_clients']")
    if shared_addresses is not None and not isinstance(shared_addresses, dict):
        raise AnsibleFilterError("client_coverage: shared_addresses must be a dict of address or CIDR -> label")
    addresses = {}
    for host in hosts:
        try:
            variables = hostvars[host]
        except KeyError:
            raise AnsibleFilterError("client_coverage: host %s is not in hostvars" % host)
        addresses[host] = host_addresses(variables)
    try:
        return coverage(databases, addresses, shared_addresses)
    except ValueError as exc:
        raise AnsibleFilterError("client_coverage: %s" % to_native(exc))


class FilterModule(object):
    def filters(self):
        return {"client_coverage": client_coverage}
