# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # What the three AWS modules (rds_ca_facts, rds_ssl_usage, rds_ca_rotate) share about their
    # connection to AWS, on top of amazon.aws's fragments (amazon.aws.common.modules,
    # amazon.aws.region.modules, amazon.aws.boto3), which each of them also extends: a fragment
    # cannot include another one. The matching code is plugins/module_utils/aws.py.
    DOCUMENTATION = r"""
options: {}
notes:
  - "AWS connection: the options of amazon.aws (O(region), O(profile), O(access_key), O(endpoint_url)...) make one
    boto3 session, shared by every region and thread of the task. Throttling and transient errors are retried with the
    amazon.aws jittered backoff, per call."
  - "Assuming a role: amazon.aws modules take no role ARN; use a O(profile) whose AWS config sets
    C(role_arn) and C(source_profile), which is resolved once for all regions."
  - "Defaults for all of them: C(group/rdsca.rotation.rds_ca) in C(module_defaults) sets options of this
    collection's AWS modules and of every amazon.aws module at once."
seealso:
  - name: Rotating your SSL/TLS certificate
    description: The AWS guide to RDS CA rotation.
    link: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL-certificate-rotation.html
"""
