# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # The CA databases are rotated to.
    # The matching argument spec is plugins/module_utils/inventory.py:target_ca_argument_spec().
    DOCUMENTATION = r"""
options:
  target_ca:
    description:
      - The certificate authority (CA) identifier databases should end up on, as listed by
        C(aws rds describe-certificates), for example C(rds-ca-rsa2048-g1),
        C(rds-ca-rsa4096-g1) or C(rds-ca-ecc384-g1).
    type: str
    default: rds-ca-rsa2048-g1
"""
