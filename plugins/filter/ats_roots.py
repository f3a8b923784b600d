# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: ats_roots
short_description: "The Amazon Trust Services roots of a PEM bundle, for clients of RDS Proxy and Neptune endpoints"
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - "RDS Proxy and Neptune endpoints present ACM certificates chained to the Amazon Trust Services roots, not the RDS
    CAs. This filter takes, from PEM text (the root files of https://www.amazontrust.com/repository/, or a system
    bundle that holds them), the certificates whose SHA-256 fingerprint is one of the published roots' (Amazon Root
    CA 1-4, Starfield Services Root Certificate Authority - G2), as C(rdsca.rotation.rds_ca_trust_store)
    O(rdsca.rotation.rds_ca_trust_store#module:certificates) items."
  - "A certificate named like one of those roots with another fingerprint fails the filter (keys, not names), unless
    O(allow_unpinned) (a test PKI). Other CAs of the text are ignored."
positional: _input
options:
  _input:
    description:
      - "PEM text."
    type: str
    required: true
  allow_unpinned:
    description:
      - "Accept CA certificates named like an Amazon Trust Services root whose fingerprint is not the published one."
    type: bool
    default: false
"""
EXAMPLES = r"""
---
- name: The Amazon Trust Services roots the controller's system bundle holds
  ansible.builtin.set_fact:
    ats: "{{ lookup('ansible.builtin.file', '/etc/ssl/certs/ca-certificates.crt') | rdsca.rotation.ats_roots }}"
"""
RETURN = r"""
_value:
  description:
    - "A list of C({name, pem, subject_cn, sha256, pinned}), sorted by name."
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def ats_roots(pem_text, allow_unpinned=False):
    """The Amazon Trust Services roots of ``pem_text``; fails on an impersonation or when there is none."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import ats_roots as lib
    certificates, problems = lib.ats_roots(pem_text, bool(allow_unpinned))
    if problems:
        raise AnsibleFilterError("rdsca.rotation.ats_roots: %s" % "; ".join(problems))
    return certificates


class FilterModule(object):
    """The rdsca.rotation.ats_roots filter."""

    def filters(self):
        return {"ats_roots": ats_roots}
