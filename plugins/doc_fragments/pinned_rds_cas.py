# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # pinned_rds_cas, the same option in rds_ca_bundle and rds_ca_rotate (module_utils/bundle.py reads it).
    DOCUMENTATION = r"""
options:
  pinned_rds_cas:
    description:
      - SHA-256 fingerprints (hexadecimal, colons allowed) of certificates with an Amazon RDS name to trust besides
        AWS's pinned ones - a private test PKI such as the collection's simulator, or an RDS root newer than the
        catalog once its fingerprint is checked with AWS. Unlike O(allow_unpinned_rds_cas), only these exact keys
        are accepted (an impersonation with another key is still refused), so no warning is printed for them.
      - Also read from the environment variable E(RDSCA_PINNED_RDS_CAS) of the controller (separated by commas).
    type: list
    elements: str
    default: []
"""
