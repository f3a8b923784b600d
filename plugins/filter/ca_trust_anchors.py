# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: ca_trust_anchors
short_description: The certificates and target CAs that the ca_trust role puts into every trust store of a host
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - Used by the C(rdsca.rotation.ca_trust) role, once per play, on the result of C(rdsca.rotation.rds_ca_bundle).
  - Each certificate keeps only what a trust store needs - C(name) (file name, alias), C(pem) (the content) and
    C(sha1) (the Windows store's thumbprint). The module reads, parses and checks each PEM itself; the bundle's
    other metadata (subjects, dates, pinning) stays in the registered bundle result. Every host's
    C(rdsca.rotation.rds_ca_trust_store) run then receives (and echoes back) a third of the data.
  - The targets are the target CAs of the regions in use (the bundle's C(targets)), or, without regions, every
    certificate of the bundle; then the names of O(extra) (the Amazon Trust Services roots).
positional: _input
options:
  _input:
    description: The registered result of C(rdsca.rotation.rds_ca_bundle) (C(certificates), C(targets)).
    type: dict
    required: true
  extra:
    description: More certificates (the output of the C(rdsca.rotation.ats_roots) filter), all of them targets.
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
---
- name: Keep the certificates and the target CAs for the trust stores
  ansible.builtin.set_fact:
    ca_trust_certificates: "{{ (ca_trust_bundle | rdsca.rotation.ca_trust_anchors).certificates }}"
    ca_trust_targets: "{{ (ca_trust_bundle | rdsca.rotation.ca_trust_anchors).targets }}"
  run_once: true
"""

RETURN = r"""
_value:
  description: C(certificates) (each C(name), C(pem), C(sha1)) and C(targets) (names, bundle order, no duplicates).
  type: dict
"""

from ansible.errors import AnsibleFilterError

# What a trust store needs of a certificate: rds_ca_trust_store reads name and pem, the Windows tasks sha1.
ANCHOR_KEYS = ("name", "pem", "sha1")


def _certificates(value, what):
    if not isinstance(value, list) or not all(isinstance(c, dict) and c.get("name") and c.get("pem") for c in value):
        raise AnsibleFilterError("ca_trust_anchors: %s must be a list of certificates, each with a name and a pem" % what)
    return [dict((key, c[key]) for key in ANCHOR_KEYS if key in c) for c in value]


def ca_trust_anchors(bundle, extra=None):
    """``{"certificates": [{name, pem, sha1}...], "targets": [name...]}`` from rds_ca_bundle's result (+ extra)."""
    if not isinstance(bundle, dict):
        raise AnsibleFilterError("ca_trust_anchors: the input must be the registered result of rds_ca_bundle")
    certificates = _certificates(bundle.get("certificates"), "the bundle's certificates")
    added = _certificates(extra or [], "extra")
    targets = []
    chosen = bundle.get("targets") or []
    for name in [t.get("name") for t in chosen] if chosen else [c["name"] for c in certificates]:
        if name not in targets:
            targets.append(name)
    return {"certificates": certificates + added, "targets": targets + [c["name"] for c in added]}


class FilterModule(object):
    def filters(self):
        return {"ca_trust_anchors": ca_trust_anchors}
