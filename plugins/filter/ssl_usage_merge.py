# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: ssl_usage_merge
short_description: One rds_ssl_usage result from a task looped over slices of the databases
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - An Ansible module cannot print progress while it runs. To see progress over thousands of databases, loop
    C(rdsca.rotation.rds_ssl_usage) over slices of the list (the C(batch) filter), and Ansible prints one line per
    slice as it ends. This filter turns the registered loop result back into what one call over every database
    returns - C(databases) in order, C(summary) computed over all of them by the module's own code, C(api_calls)
    added up - so that the tasks after it read it as before.
  - Slices that were skipped are left out; a slice that failed (O(rdsca.rotation.rds_ssl_usage#module:strict))
    still contributes the databases it returned, and C(failed_slices) counts it.
positional: _input
options:
  _input:
    description:
      - The variable registered by the looped task (with C(results)), or its C(results) list.
    type: raw
    required: true
"""

EXAMPLES = r"""
---
- name: Look at how each database uses TLS, 200 at a time (one line of output per slice)
  rdsca.rotation.rds_ssl_usage:
    databases: "{{ item }}"
    ca_cert: /etc/pki/rds/global-bundle.pem
  loop: "{{ inventory.databases | batch(200) | list }}"
  loop_control:
    extended: true
    label: "slice {{ ansible_loop.index }}/{{ ansible_loop.length }} ({{ item | length }} databases)"
  register: usage_slices

- name: One result, as a single call would return it
  ansible.builtin.set_fact:
    usage: "{{ usage_slices | rdsca.rotation.ssl_usage_merge }}"
"""

RETURN = r"""
_value:
  description:
    - C(databases) (every slice's, in order), C(summary) (over all of them), C(api_calls) (summed per region and
      operation), C(slices) (how many slices ran), C(failed_slices) and C(failed_accounts) (every slice's, each once).
  type: dict
"""

from ansible.errors import AnsibleFilterError

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def ssl_usage_merge(registered):
    """One rds_ssl_usage result from the registered result of a task looped over slices of the databases."""
    from ansible_collections.rdsca.rotation.plugins.module_utils.ssl_usage import summarize
    slices = registered.get("results") if isinstance(registered, dict) else registered
    if not isinstance(slices, list) or not all(isinstance(item, dict) for item in slices):
        raise AnsibleFilterError("rdsca.rotation.ssl_usage_merge needs the result registered by a looped "
                                 "rds_ssl_usage task (a dict with 'results', or that list)")
    databases, api_calls, ran, failed, failed_accounts = [], {}, 0, 0, []
    for item in slices:
        if item.get("skipped"):
            continue
        if not isinstance(item.get("databases"), list):
            raise AnsibleFilterError("rdsca.rotation.ssl_usage_merge: a slice has no 'databases' list (%s)"
                                     % (item.get("msg") or "not an rds_ssl_usage result"))
        ran += 1
        failed += 1 if item.get("failed") else 0
        databases.extend(item["databases"])
        for account in item.get("failed_accounts") or []:  # every chunk meets the same refusing account: once
            if account not in failed_accounts:
                failed_accounts.append(account)
        for region, operations in (item.get("api_calls") or {}).items():
            totals = api_calls.setdefault(region, {})
            for operation, count in operations.items():
                totals[operation] = totals.get(operation, 0) + int(count)
    return {"databases": databases, "summary": summarize(databases), "api_calls": api_calls, "slices": ran,
            "failed_slices": failed, "failed_accounts": failed_accounts, "changed": False}


class FilterModule(object):
    """The rdsca.rotation.ssl_usage_merge filter."""

    def filters(self):
        return {"ssl_usage_merge": ssl_usage_merge}
