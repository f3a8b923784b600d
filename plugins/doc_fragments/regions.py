# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # Options of modules that scan several regions in parallel.
    # The matching argument spec is plugins/module_utils/aws.py:regions_argument_spec().
    DOCUMENTATION = r"""
options:
  regions:
    description:
      - The regions to query, in parallel.
      - A list of region names, or C(all) (alone) for every region the account has enabled,
        found with one C(ec2:DescribeRegions) call in O(region) (C(us-east-1) when unset); regions
        not opted in to and regions of another partition than O(region)'s are left out.
      - Region names are checked before any call is made; a name that is not a region known
        to the installed botocore fails the task.
      - When unset, the connection region (O(region), E(AWS_REGION)) is the only one queried.
    type: list
    elements: str
  strict:
    description:
      - What happens when a region cannot be queried (access denied, region not enabled,
        retries exhausted...).
      - When V(false), the region is reported in RV(failed_regions), with a warning, and the
        other regions are still returned.
      - When V(true), the task fails (and still returns what the other regions gave).
      - The same name as this switch in every module of the collection.
    type: bool
    default: false
  concurrency:
    description:
      - How many AWS calls run at the same time, across all regions (threads).
      - Each region needs several independent calls, which run in parallel too; the calls of one
        region never exceed a handful at a time, so this mostly bounds how many regions are read at once.
      - The same name as "how many at a time" in every module of the collection.
    type: int
    default: 64
"""
