# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: ca_trust_report
short_description: One client host's ca_trust report from the results of its trust stores
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - Used by the C(rdsca.rotation.ca_trust) role (C(ca_trust_report)) in one task per host.
  - Each store with a C(label) (the C(stores) of C(rdsca.rotation.rds_ca_trust_store), the Windows store) becomes
    an entry of C(stores) - C(path), C(missing), C(added), C(updated), C(removed) - and each store that lacked
    (in audit mode - lacks) target CAs an entry of C(missing).
positional: _input
options:
  _input:
    description: The results of the host's trust stores.
    type: list
    elements: dict
    required: true
  audit:
    description: Whether the role ran in audit mode.
    type: bool
    default: false
  platform:
    description: The host's platform (C(ca_trust_platform)).
    type: str
  targets:
    description: The target CAs (C(ca_trust_targets)).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
---
- name: Summarise this host
  ansible.builtin.set_fact:
    ca_trust_report: >-
      {{ ca_trust_store_result.stores | rdsca.rotation.ca_trust_report(audit=false, platform='debian',
           targets=ca_trust_targets) }}
"""

RETURN = r"""
_value:
  description: C(mode) (C(audit) or C(install)), C(platform), C(targets), C(stores) (by label) and C(missing)
    (label -> the target CAs that store lacked).
  type: dict
"""

from ansible.errors import AnsibleFilterError


def ca_trust_report(stores, audit=False, platform=None, targets=None):
    """The host's report: every labelled store, and the target CAs each one lacked."""
    if not isinstance(stores, list) or not all(isinstance(s, dict) for s in stores):
        raise AnsibleFilterError("ca_trust_report: the input must be a list of trust store results")
    summary = {}
    for store in stores:
        if store.get("label") is None:
            continue
        summary[store["label"]] = {"path": store.get("store"), "missing": list(store.get("missing") or []),
                                   "added": list(store.get("added") or []), "updated": list(store.get("updated") or []),
                                   "removed": list(store.get("removed") or [])}
    return {"mode": "audit" if audit else "install", "platform": platform, "targets": list(targets or []),
            "stores": summary,
            "missing": dict((label, entry["missing"]) for label, entry in summary.items() if entry["missing"])}


class FilterModule(object):
    def filters(self):
        return {"ca_trust_report": ca_trust_report}
