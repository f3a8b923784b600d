# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # The attributes every module of the collection documents, as community.crypto does
    # (community.crypto plugins/doc_fragments/_attributes.py): the descriptions here, the support
    # level in each module (or in one of the fragments below).
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
"""

    # Use with the standard fragment: a module that only reads.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state; it runs the same in check mode.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
"""

    # Use with the standard fragment: a module that talks to AWS from the host it runs on (usually the
    # controller, with delegate_to localhost); any POSIX host with Python, boto3 and botocore.
    AWS_PLATFORM = r"""
options: {}
attributes:
  platform:
    platforms: posix
"""

    # Use with the standard fragment: a module that runs on (and may change) a client host.
    POSIX_PLATFORM = r"""
options: {}
attributes:
  platform:
    platforms: posix
"""

    # The action group of meta/runtime.yml, which extends amazon.aws's (see docs/module_defaults.md).
    ACTION_GROUP = r"""
options: {}
attributes:
  action_group:
    description:
      - Use C(group/rdsca.rotation.rds_ca) in C(module_defaults) to set defaults for this module.
      - The group also holds the amazon.aws modules (C(group/amazon.aws.aws)), so one block sets the AWS
        connection options (O(region), O(profile), O(endpoint_url)...) for both collections.
    support: full
    membership:
      - rdsca.rotation.rds_ca
"""
