#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: rds_ca_facts
short_description: Inventory the certificate authorities of RDS and Aurora databases across regions
version_added: 0.1.0
description:
  - Answers, for a whole AWS estate in one task, which databases are on a certificate authority (CA)
    that expires, and what rotating each one would cost (a restart or not).
  - For every DB instance (RDS, Aurora cluster members, Multi-AZ DB cluster members) it reports the
    current CA and when it expires, any pending CA change or C(ca-certificate-rotation) maintenance
    action, whether the exact engine version can rotate without a restart and which CAs it supports,
    its environment (from a tag), and whether it needs rotating, with a reason.
  - For every region it reports the CAs (C(DescribeCertificates)), the default CA for new launches
    and any customer override; and a summary for the estate.
  - "A fixed number of read-only calls per region, whatever the number of databases: one paginated
    C(DescribeDBInstances) (100 per page, tags included), one C(DescribeDBClusters), one
    C(DescribePendingMaintenanceActions), one C(DescribeCertificates), and one
    C(DescribeDBEngineVersions) per distinct engine among the matching databases. Regions and calls
    run in parallel threads; throttling and transient errors are retried with the amazon.aws
    jittered backoff. RV(api_calls) reports what was sent."
  - Filters (O(engines), O(identifiers), O(tags), O(expiring_within_days)) apply to the results; the
    region-wide calls are the same whatever the filters, only the engine-version lookups follow them.
  - With O(set_facts=true) the inventory is also set as the fact C(ansible_facts.rds_ca), for later tasks and
    plays on the same host.
  - Read-only; C(changed) is always V(false).
author:
  - rdsca.rotation maintainers (@rdsca)
options:
  engines:
    description:
      - Only report databases whose engine matches one of these names or shell-style patterns,
        for example V(postgres), V(mysql), V(mariadb), V(aurora-*), V(sqlserver-*), V(oracle-*).
      - Each pattern must match at least one RDS engine, so that a typo fails instead of
        silently matching nothing.
      - V(docdb) (DocumentDB) and V(neptune) instances, which the RDS API also lists, are reported and
        rotated like Aurora members (their CA is per instance). RDS Custom (V(custom-*)) instances are
        reported with RV(databases[].engine_supported=false) and the reason C(unsupported_engine).
    type: list
    elements: str
  identifiers:
    description:
      - Only report databases whose DB instance identifier, DB cluster identifier or ARN matches
        one of these names or shell-style patterns (case-insensitive).
      - Naming an Aurora or Multi-AZ DB cluster selects all its member instances.
    type: list
    elements: str
  tags:
    description:
      - "Only report databases that carry all these tags, for example C(Environment: production)."
      - A value may be a list (any of them matches) and may use shell-style patterns.
      - A cluster member's tags are its own on top of its cluster's.
    type: dict
  expiring_within_days:
    description:
      - Only report databases whose CA expires within this many days (already expired ones
        included), and give the reason C(ca_expires_soon) to those that need rotating and expire
        within that many days.
      - The CA's validity comes from C(DescribeCertificates) in the database's region; when that
        CA is not listed, from the server certificate (C(CertificateDetails.ValidTill)).
      - Must be 0 or more.
    type: int
  environment_tag:
    description:
      - The tag whose value classifies each database as staging, production, and so on
        (RV(databases[].environment)), for staged rotation playbooks.
      - Looked up on the instance, then case-insensitively, then on its cluster.
    type: str
    default: Environment
  set_facts:
    description:
      - Also set the inventory as the fact C(ansible_facts.rds_ca).
      - With V(false) (the default; it was V(true) before issue 20) the inventory is returned once, for
        C(register) only. At thousands of databases the result is several MiB, and setting it as a fact as well
        doubles what the module sends to the controller (and what AWX stores with the job's events).
    type: bool
    default: false
  proxies:
    description:
      - Also list the RDS Proxies of each region (RV(proxies)) and, per database, the proxies in front of it
        (RV(databases[].proxied_by)).
      - Costs one paginated C(DescribeDBProxies) per region and one C(DescribeDBProxyTargets) per proxy, so it
        is off by default; the audit and inventory playbooks turn it on (C(rdsca_proxies)).
      - Clients that connect through a proxy endpoint verify the proxy's ACM certificate (Amazon Trust
        Services), not the database's RDS CA.
      - A region whose proxies (or one proxy's targets) cannot be read is in RV(proxy_errors) and its databases
        have RV(databases[].proxied_by=null); with O(strict=true) the task fails.
    type: bool
    default: false
  detail:
    description:
      - How much of each database RV(databases) returns.
      - V(full), every key of every record (the default).
      - V(compact), the same records without the keys that hold their default value (a standalone instance has
        no C(cluster_id), C(read_replicas), C(pending_ca)...), see the notes; about a third smaller. The
        C(rdsca.rotation.inventory_result) filter puts the left-out keys back.
      - V(summary), no RV(databases) at all, only the RV(summary) and per-region RV(regions); with O(output_file)
        every database is written there. For estates of 10,000 databases and more.
    type: str
    choices: [compact, full, summary]
    default: full
  output_file:
    description:
      - Also write every database record (as O(detail) shapes them, V(compact) for V(summary)) to this file on
        the host the module runs on (normally the controller), one JSON object a line (JSON Lines), and return
        its path as RV(output_file).
      - An absolute path. It is checked before any AWS call; missing directories are created (mode C(0755)); the
        file is written atomically with mode C(0600) and replaces an existing regular file of that name;
        a symbolic link on the way is only followed when root or the module's user controls it.
      - The C(rdsca.rotation.inventory_result) filter reads it back (streamed, one record at a time).
      - Written in check mode too (it is the module's answer, not a change); C(changed) stays V(false).
    type: path
notes:
  - "C(needs_rotation) and its C(reason), in the order they are decided:
    C(unsupported_engine) (false: RDS Custom),
    C(already_on_target) (false: the current CA is O(target_ca)),
    C(pending_change_to_target) (false: C(PendingModifiedValues) already holds O(target_ca)),
    C(ca_expired) (true: the current CA has expired),
    C(ca_expires_soon) (true: it expires within O(expiring_within_days)),
    C(not_on_target_ca) (true: any other CA than O(target_ca))."
  - "C(would_restart) is the cost of rotating now: V(false) when the exact engine version reports
    C(SupportsCertificateRotationWithoutRestart), V(true) when it reports that it cannot, and
    C(unknown) when C(DescribeDBEngineVersions) does not know that version."
  - "The default record (what O(detail=compact) leaves out when a database has this value): C(multi_az: false),
    C(cluster_id), C(cluster_type), C(cluster_role), C(cluster_writer), C(read_replica_source), C(endpoint_address),
    C(ca_valid_till), C(certificate_valid_till), C(days_left), C(pending_ca), C(pending_maintenance),
    C(supported_cas) and C(environment) null, C(read_replicas: []), C(tags: {}).
    Every other key is always present."
  - "IAM permissions: C(rds:DescribeDBInstances), C(rds:DescribeDBClusters),
    C(rds:DescribePendingMaintenanceActions), C(rds:DescribeCertificates),
    C(rds:DescribeDBEngineVersions), and C(ec2:DescribeRegions) for O(regions=all);
    C(rds:DescribeDBProxies) and C(rds:DescribeDBProxyTargets) for O(proxies=true)."
  - "Accounts: with O(accounts) or O(organization), every region of O(regions) is read in every account (O(regions=all):
    the regions enabled in the account of the module's own credentials); a region a role cannot read is in
    RV(failed_regions) with its C(account)."
  - "IAM permissions with O(accounts) or O(organization): C(sts:AssumeRole) on each account's role (the module's own
    credentials), C(organizations:ListAccounts) for O(organization), and in each account C(iam:ListAccountAliases)
    (optional) besides the permissions above; each role trusts the module's principal (C(docs/iam-trust-policy.json))."
seealso:
  - module: amazon.aws.rds_instance_info
extends_documentation_fragment:
  - rdsca.rotation.attributes
  - rdsca.rotation.attributes.INFO_MODULE
  - rdsca.rotation.attributes.AWS_PLATFORM
  - rdsca.rotation.attributes.ACTION_GROUP
  - rdsca.rotation.aws
  - rdsca.rotation.regions
  - rdsca.rotation.accounts
  - rdsca.rotation.target_ca
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Inventory the CAs of every database in three regions
  rdsca.rotation.rds_ca_facts:
    regions: [us-east-1, eu-west-1, ap-southeast-2]
    set_facts: true  # also as ansible_facts.rds_ca, for the last example (doubles the result)
  register: inventory

- name: Show what needs rotating, and which of those would restart
  ansible.builtin.debug:
    msg: >-
      {{ inventory.summary.needs_rotation }} of {{ inventory.summary.databases }} databases need a new CA;
      {{ inventory.summary.needs_rotation_by_restart.restart }} of them would restart.

- name: Production PostgreSQL and Aurora PostgreSQL whose CA expires within 90 days, every enabled region
  rdsca.rotation.rds_ca_facts:
    regions: all
    engines: [postgres, aurora-postgresql]
    tags:
      Environment: production
    expiring_within_days: 90
    target_ca: rds-ca-rsa4096-g1
  register: expiring

- name: Fail when any region cannot be read, and query through a custom endpoint for the whole group
  module_defaults:
    group/rdsca.rotation.rds_ca:
      endpoint_url: "{{ rds_endpoint_url }}"
      region: us-east-1
  block:
    - name: Inventory strictly
      rdsca.rotation.rds_ca_facts:
        regions: [us-east-1, eu-west-1]
        strict: true

- name: RDS Proxies too, and the databases whose direct clients must trust the new CA though a proxy is in front
  rdsca.rotation.rds_ca_facts:
    regions: [us-east-1]
    proxies: true
    set_facts: false
  register: with_proxies

- name: Staging databases that need rotation, from the facts set above (a later play can use them too)
  ansible.builtin.set_fact:
    staging_to_rotate: >-
      {{ ansible_facts.rds_ca.databases
         | selectattr('environment', 'equalto', 'staging')
         | selectattr('needs_rotation')
         | map(attribute='identifier') | list }}

- name: A 10,000-database estate - only the summary comes back, every record goes to a JSON Lines file
  rdsca.rotation.rds_ca_facts:
    regions: all
    detail: summary
    output_file: /var/lib/rdsca/inventory.jsonl
  register: estate

- name: Read the records back (full records, streamed from the file) for the production databases to rotate
  ansible.builtin.set_fact:
    production_to_rotate: >-
      {{ (estate | rdsca.rotation.inventory_result).databases
         | selectattr('environment', 'equalto', 'production')
         | selectattr('needs_rotation')
         | map(attribute='identifier') | list }}

- name: Two AWS accounts, each through the role it trusts this controller with (labels carry the account)
  rdsca.rotation.rds_ca_facts:
    regions: [us-east-1, eu-west-1]
    role_name: rdsca-audit          # arn:aws:iam::<account_id>:role/rdsca-audit
    accounts:
      - account_id: "123456789012"
        alias: shop-staging
      - account_id: "210987654321"  # its alias is read from IAM when the role may
  register: accounts_inventory
"""

RETURN = r"""
changed:
  description: Always V(false), the module only reads.
  returned: always
  type: bool
  sample: false
generated_at:
  description: When the inventory was taken (UTC); every C(days_left) counts from it.
  returned: always
  type: str
  sample: "2026-11-28T15:39:29.097599+00:00"
target_ca:
  description: The O(target_ca) the classification used.
  returned: always
  type: str
  sample: rds-ca-rsa2048-g1
target_ca_problems:
  description:
    - Why databases cannot be rotated to O(target_ca), one sentence each, also given as warnings; empty when it can
      be used everywhere. A region where O(target_ca) is not a CA, or has expired (C(rds-ca-2019) since
      August 2024), and the databases needing rotation whose engine version does not list it in
      C(SupportedCACertificateIdentifiers). The rotate playbook's pre-flight stops on any of them.
  returned: always
  type: list
  elements: str
  sample: ["us-east-1: rds-ca-2019 expired on 2024-08-22T17:08:50+00:00: a database cannot be rotated to it"]
regions_queried:
  description: The regions queried (O(regions), or the enabled regions for C(all)), sorted.
  returned: always
  type: list
  elements: str
  sample: [ap-southeast-2, eu-west-1, us-east-1]
databases:
  description:
    - One entry per DB instance that passes the filters, sorted by account (with O(accounts)), region, then identifier.
    - Aurora and Multi-AZ DB cluster members are listed as instances, with their cluster.
    - With O(detail=compact), the keys holding their default value (see the notes) are left out; with
      O(detail=summary), an empty list (the records are in O(output_file)).
  returned: always
  type: list
  elements: dict
  contains:
    identifier:
      description: DB instance identifier.
      type: str
      sample: orders-pg13-production
    account:
      description: The 12-digit AWS account of the instance (the assumed role's, else the one in its ARN).
      type: str
      sample: "123456789012"
    account_alias:
      description: The account's alias (O(accounts[].alias), else its IAM alias), null when unknown or without O(accounts).
      type: str
      sample: shop-prod
    label:
      description:
        - The database's label, C(<region>/<identifier>), or C(<account>/<region>/<identifier>) with O(accounts) or
          O(organization) (identifiers repeat across accounts). The form rds_ca_rotate and the rollback input accept.
      type: str
      sample: 123456789012/us-east-1/orders-pg13-production
    arn:
      description: DB instance ARN.
      type: str
      sample: arn:aws:rds:us-east-1:123456789012:db:orders-pg13-production
    region:
      description: Region of the instance.
      type: str
      sample: us-east-1
    engine:
      description: Engine (C(postgres), C(aurora-postgresql), C(mysql)...).
      type: str
      sample: postgres
    engine_version:
      description: Exact engine version.
      type: str
      sample: "13.15"
    engine_supported:
      description: Whether this collection rotates this engine's CA (false for RDS Custom).
      type: bool
      sample: true
    endpoint_certificate:
      description:
        - What the database's endpoint presents, as AWS documents it. C(rds_ca) - a certificate issued by its
          RDS CA, which a CA rotation replaces; C(acm) - Neptune (Neptune User Guide, "Encrypting connections
          ... with SSL/HTTPS") presents one ACM wildcard certificate per account and region, chained to Amazon
          Trust Services, so changing its CA does not change what its clients must trust.
      type: str
      sample: rds_ca
    proxied_by:
      description:
        - Names of the RDS Proxies in front of the database (its instance, or its cluster), with O(proxies=true);
          null when the proxies of its region could not be read. Absent with O(proxies=false).
        - Clients through those proxies trust Amazon Trust Services; clients that connect directly must trust the
          new RDS CA.
      type: list
      elements: str
      sample: [orders-proxy]
    instance_class:
      description: DB instance class.
      type: str
      sample: db.m5.large
    status:
      description: DB instance status.
      type: str
      sample: available
    multi_az:
      description: Whether the instance is a Multi-AZ (instance) deployment.
      type: bool
      sample: true
    cluster_id:
      description: DB cluster identifier, or null for a standalone instance.
      type: str
      sample: inventory-aurora
    cluster_type:
      description: C(aurora), C(multi_az_db_cluster), C(docdb), C(neptune), or null for a standalone instance.
      type: str
      sample: aurora
    cluster_role:
      description:
        - C(writer) or C(reader) for an Aurora cluster member, C(multi_az_db_cluster) for a member of a
          Multi-AZ DB cluster (whose CA is changed on the cluster), null for a standalone instance.
      type: str
      sample: writer
    cluster_writer:
      description: Whether this member is its cluster's writer (null for a standalone instance).
      type: bool
      sample: true
    read_replica_source:
      description: Identifier (or ARN, across regions) of the instance this read replica replicates, else null.
      type: str
      sample: orders-pg13-production
    read_replicas:
      description: Identifiers of this instance's read replicas.
      type: list
      elements: str
      sample: [orders-pg13-replica]
    endpoint_address:
      description: Endpoint host name (null while the instance is being created).
      type: str
      sample: orders-pg13-production.c1fd162ee33d3.us-east-1.rds.amazonaws.com
    endpoint_port:
      description: Endpoint port.
      type: int
      sample: 5432
    current_ca:
      description: The CA the instance uses (C(CACertificateIdentifier)).
      type: str
      sample: rds-ca-2019
    ca_valid_till:
      description: When the current CA expires, from C(DescribeCertificates) in the region (null if not listed there).
      type: str
      sample: "2024-08-22T17:08:50+00:00"
    ca_days_left:
      description:
        - Whole days until the current CA expires (negative once expired), from RV(databases[].ca_valid_till),
          or from RV(databases[].certificate_valid_till) when the CA is not listed. Null if neither is known.
      type: int
      sample: -828
    ca_expired:
      description: Whether the current CA has expired (null if unknown).
      type: bool
      sample: true
    certificate_valid_till:
      description: When the instance's server certificate expires (C(CertificateDetails.ValidTill)).
      type: str
      sample: "2024-08-22T17:08:50+00:00"
    days_left:
      description: Whole days until the server certificate expires (negative once expired), null if unknown.
      type: int
      sample: -828
    pending_ca:
      description:
        - The CA of a pending modification (C(PendingModifiedValues.CACertificateIdentifier); for a Multi-AZ DB
          cluster member, the cluster's pending C(CertificateDetails)), else null.
      type: str
      sample: rds-ca-rsa2048-g1
    pending_maintenance:
      description: The pending C(ca-certificate-rotation) maintenance action of the instance, else null.
      type: dict
      contains:
        action:
          description: Always C(ca-certificate-rotation).
          type: str
          sample: ca-certificate-rotation
        description:
          description: The action's description.
          type: str
          sample: Certificate rotation
        auto_applied_after:
          description: Date after which it is applied in the maintenance window.
          type: str
          sample: "2026-12-01T00:00:00+00:00"
        forced_apply:
          description: Date on which it is applied regardless of the maintenance window.
          type: str
          sample: "2027-01-15T00:00:00+00:00"
        current_apply_date:
          description: When it is due to be applied given the opt-in status, or null.
          type: str
          sample: "2026-11-29T05:00:00+00:00"
        opt_in_status:
          description: C(immediate), C(next-maintenance), or null when not opted in.
          type: str
          sample: next-maintenance
    rotation_without_restart:
      description:
        - V(true) or V(false) as C(DescribeDBEngineVersions) reports C(SupportsCertificateRotationWithoutRestart)
          for this exact engine version; the string C(unknown) when that version (or the field) is not reported,
          and for unsupported engines.
      type: raw
      sample: true
    would_restart:
      description: Whether rotating the CA now would restart the instance; V(true), V(false) or C(unknown).
      type: raw
      sample: false
    supported_cas:
      description: The CAs this engine version supports (C(SupportedCACertificateIdentifiers)), null if unknown.
      type: list
      elements: str
      sample: [rds-ca-2019, rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, rds-ca-ecc384-g1]
    target_ca_supported:
      description: Whether the engine version supports O(target_ca); V(true), V(false) or C(unknown).
      type: raw
      sample: true
    tags:
      description: The instance's own tags.
      type: dict
      sample: {Environment: production, Team: orders}
    environment:
      description: Value of the O(environment_tag) tag (instance first, then its cluster), null if untagged.
      type: str
      sample: production
    needs_rotation:
      description: Whether the instance should be moved to O(target_ca) (see the notes).
      type: bool
      sample: true
    reason:
      description:
        - Why (not) rotate, one of C(unsupported_engine), C(already_on_target), C(pending_change_to_target), C(ca_expired),
          C(ca_expires_soon) or C(not_on_target_ca) (see the notes).
      type: str
      sample: ca_expired
regions:
  description:
    - Per queried region that did not fail, its CAs and counts; keyed C(<account>/<region>) with O(accounts) or
      O(organization) (then each entry has C(account) and C(account_alias) too).
  returned: always
  type: dict
  sample:
    eu-west-1:
      region: eu-west-1
      default_ca_for_new_launches: rds-ca-rsa4096-g1
      customer_override: rds-ca-rsa4096-g1
      customer_override_valid_till: "2121-05-24T23:03:20+00:00"
      target_ca_available: true
      certificates:
        - identifier: rds-ca-2019
          type: CA
          thumbprint: d40ddb29e3750dffa671c3140bbf5f478d1c8096
          valid_from: "2019-08-22T17:08:50+00:00"
          valid_till: "2024-08-22T17:08:50+00:00"
          days_left: -828
          expired: true
          customer_override: false
          customer_override_valid_till: null
          arn: arn:aws:rds:eu-west-1::cert:rds-ca-2019
      counts:
        databases: 5
        scanned: 5
        needs_rotation: 4
        by_ca: {rds-ca-2019: 4, rds-ca-rsa4096-g1: 1}
        by_restart: {restart: 2, no_restart: 3, unknown: 0}
  contains:
    region:
      description: The region.
      type: str
    certificates:
      description:
        - The region's CAs from C(DescribeCertificates), oldest expiry first. Each has C(identifier), C(type),
          C(thumbprint), C(valid_from), C(valid_till), C(days_left), C(expired), C(customer_override),
          C(customer_override_valid_till) and C(arn).
      type: list
      elements: dict
    default_ca_for_new_launches:
      description: C(DefaultCertificateForNewLaunches).
      type: str
    customer_override:
      description: The CA set as the account's override for new launches in this region (C(ModifyCertificates)), else null.
      type: str
    customer_override_valid_till:
      description: When that override expires, else null.
      type: str
    target_ca_available:
      description: Whether O(target_ca) is one of the region's CAs.
      type: bool
    target_ca_valid_till:
      description: When O(target_ca) expires in this region (C(DescribeCertificates)), null when it is not a CA of the region.
      type: str
    target_ca_expired:
      description: Whether O(target_ca) has expired (null when it is not a CA of the region). An expired CA cannot be rotated to.
      type: bool
    target_ca_problem:
      description:
        - Why no database of this region can be rotated to O(target_ca) (unknown in the region, or expired), else null.
          Also in RV(target_ca_problems) and a warning.
      type: str
    counts:
      description:
        - C(databases) reported (after filters), C(scanned) (every instance of the region), C(needs_rotation),
          C(by_ca) (current CA to count) and C(by_restart) (C(restart), C(no_restart), C(unknown)).
      type: dict
accounts:
  description: The accounts queried (their role assumed), with O(accounts) or O(organization).
  returned: when O(accounts) or O(organization) is set
  type: list
  elements: dict
  sample: [{account: "222222222222", role_arn: "arn:aws:iam::222222222222:role/rdsca-audit", alias: shop-prod}]
  contains:
    account:
      description: The 12-digit account ID.
      type: str
    role_arn:
      description: The role assumed.
      type: str
    alias:
      description: The account's alias (given, else its IAM alias), null when unknown.
      type: str
failed_accounts:
  description:
    - The accounts whose role could not be assumed (see O(strict)); their databases are unknown, not absent.
      Empty without O(accounts).
  returned: always
  type: list
  elements: dict
  sample: [{account: "333333333333", role_arn: "arn:aws:iam::333333333333:role/rdsca-audit", error_code: AccessDenied,
            message: "User: arn:aws:iam::111111111111:user/ci is not authorized to perform: sts:AssumeRole on resource: ..."}]
  contains:
    account:
      description: The 12-digit account ID.
      type: str
    role_arn:
      description: The role that could not be assumed.
      type: str
    error_code:
      description: The AWS error code.
      type: str
    message:
      description: The AWS error message.
      type: str
failed_regions:
  description: The regions that could not be queried (see O(strict)), with the first error.
  returned: always
  type: list
  elements: dict
  sample: [{region: ap-southeast-2, operation: DescribeDBInstances, error_code: AccessDenied,
            message: "User is not authorized to perform this action"}]
  contains:
    region:
      description: The region.
      type: str
    account:
      description: The account, with O(accounts) or O(organization).
      type: str
    operation:
      description: The API operation that failed.
      type: str
    error_code:
      description: The AWS error code (or the botocore exception name for connection errors).
      type: str
    message:
      description: The AWS error message.
      type: str
summary:
  description: Totals over RV(databases).
  returned: always
  type: dict
  contains:
    regions_queried:
      description: Number of regions queried.
      type: int
    regions_failed:
      description: Number of regions in RV(failed_regions).
      type: int
    databases:
      description: Number of databases reported.
      type: int
    needs_rotation:
      description: Number of databases that need rotation.
      type: int
    by_ca:
      description: Current CA to number of databases.
      type: dict
    by_environment:
      description: Environment to number of databases (C(untagged) for those without the tag).
      type: dict
    by_engine:
      description: Engine to number of databases.
      type: dict
    by_region:
      description: Region to number of databases.
      type: dict
    by_account:
      description: Account to number of databases (the accounts in RV(failed_accounts) are not counted - unknown).
      type: dict
    accounts_queried:
      description: Number of accounts queried, failed ones included (with O(accounts) or O(organization)).
      type: int
      returned: when O(accounts) or O(organization) is set
    accounts_failed:
      description: Number of accounts in RV(failed_accounts) (with O(accounts) or O(organization)).
      type: int
      returned: when O(accounts) or O(organization) is set
    by_reason:
      description: Reason to number of databases.
      type: dict
    by_restart:
      description: C(restart), C(no_restart) and C(unknown) to number of databases, if rotated now.
      type: dict
    needs_rotation_by_restart:
      description: The same, counting only the databases that need rotation - the cost of rotating.
      type: dict
    expired:
      description: Number of databases whose CA has expired.
      type: int
    expiring:
      description: C(within_30_days), C(within_90_days), C(within_180_days), C(within_365_days) - databases whose CA
        expires within that many days, expired ones included.
      type: dict
  sample:
    regions_queried: 3
    regions_failed: 0
    databases: 14
    needs_rotation: 9
    by_ca: {rds-ca-2019: 10, rds-ca-rsa2048-g1: 3, rds-ca-rsa4096-g1: 1}
    by_environment: {production: 9, staging: 4, untagged: 1}
    by_engine: {postgres: 8, aurora-postgresql: 3, mysql: 2, mariadb: 1}
    by_region: {us-east-1: 8, eu-west-1: 5, ap-southeast-2: 1}
    by_account: {"123456789012": 14}
    by_reason: {ca_expired: 9, already_on_target: 3, pending_change_to_target: 1, not_on_target_ca: 1}
    by_restart: {restart: 5, no_restart: 9, unknown: 0}
    needs_rotation_by_restart: {restart: 4, no_restart: 5, unknown: 0}
    expired: 10
    expiring: {within_30_days: 10, within_90_days: 10, within_180_days: 10, within_365_days: 10}
api_calls:
  description:
    - HTTP requests sent, per region and API operation, retries included. C(ec2:DescribeRegions) (for
      O(regions=all)) is counted under the region it was sent to; the calls in another account (O(accounts)) under
      C(<account>/<region>).
  returned: always
  type: dict
  sample:
    us-east-1: {DescribeDBInstances: 1, DescribeDBClusters: 1, DescribePendingMaintenanceActions: 1,
                DescribeCertificates: 1, DescribeDBEngineVersions: 3}
proxies:
  description:
    - The RDS Proxies of the regions read (O(proxies=true)), sorted by region and name. A proxy endpoint presents
      the proxy's own ACM certificate (Amazon RDS User Guide, "Using TLS/SSL with RDS Proxy"), so rotating the
      databases behind it does not change what clients connecting through it must trust.
  returned: when O(proxies=true)
  type: list
  elements: dict
  contains:
    name: {description: DBProxyName., type: str}
    arn: {description: DBProxyArn., type: str}
    region: {description: Region., type: str}
    status: {description: Proxy status., type: str}
    engine_family: {description: "C(POSTGRESQL), C(MYSQL) or C(SQLSERVER).", type: str}
    endpoint: {description: The proxy's endpoint address., type: str}
    require_tls: {description: Whether the proxy refuses clients without TLS., type: bool}
    vpc_id: {description: VPC of the proxy., type: str}
    endpoint_certificate: {description: Always C(acm)., type: str}
    client_trust: {description: Always C(Amazon Trust Services) - what clients through the proxy must trust., type: str}
    targets:
      description: DescribeDBProxyTargets - type, identifier, arn, endpoint, port, role, tracked_cluster, health; null
        when they could not be read (see RV(proxy_errors)).
      type: list
      elements: dict
    instances: {description: DB instance identifiers behind the proxy., type: list, elements: str}
    clusters: {description: DB cluster identifiers behind the proxy., type: list, elements: str}
  sample:
    - {name: orders-proxy, region: us-east-1, engine_family: POSTGRESQL, require_tls: true, endpoint_certificate: acm,
       client_trust: Amazon Trust Services, instances: [orders-prod], clusters: []}
proxy_errors:
  description: Regions whose proxies (or one proxy's targets) could not be read - region, operation, error_code,
    message (and proxy). Their databases have RV(databases[].proxied_by=null).
  returned: when O(proxies=true)
  type: list
  elements: dict
detail:
  description: The O(detail) of RV(databases) (V(full), V(compact) or V(summary)), for the filters that read them back.
  returned: always
  type: str
  sample: full
output_file:
  description: The file the records were written to (O(output_file), links resolved), one JSON object a line.
  returned: when O(output_file) is set
  type: str
  sample: /var/lib/rdsca/inventory.jsonl
output_file_bytes:
  description: The size of RV(output_file).
  returned: when O(output_file) is set
  type: int
  sample: 5242880
ansible_facts:
  description: The inventory, for later tasks and plays.
  returned: when O(set_facts=true)
  type: dict
  contains:
    rds_ca:
      description:
        - RV(databases), RV(regions), RV(summary), RV(failed_regions), RV(failed_accounts), RV(regions_queried),
          RV(target_ca) and RV(generated_at) (and RV(accounts) with O(accounts)), as returned by the module.
      type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.rdsca.rotation.plugins.module_utils import accounts as accounts_lib
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import CallCounter
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import RegionClients
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import check_regions_option
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import regions_argument_spec
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import resolve_regions
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import utcnow
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import warn
from ansible_collections.rdsca.rotation.plugins.module_utils.inventory import DEFAULT_ENVIRONMENT_TAG
from ansible_collections.rdsca.rotation.plugins.module_utils.inventory import build_region
from ansible_collections.rdsca.rotation.plugins.module_utils.inventory import filter_options
from ansible_collections.rdsca.rotation.plugins.module_utils.inventory import gather_scopes
from ansible_collections.rdsca.rotation.plugins.module_utils.inventory import summarize
from ansible_collections.rdsca.rotation.plugins.module_utils.inventory import target_ca_argument_spec
from ansible_collections.rdsca.rotation.plugins.module_utils.inventory import validate_options
from ansible_collections.rdsca.rotation.plugins.module_utils.numbers import check_numbers
from ansible_collections.rdsca.rotation.plugins.module_utils.proxies import attach_proxied_by
from ansible_collections.rdsca.rotation.plugins.module_utils.proxies import gather_proxies
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_api import Scope
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_domain import db_label
from ansible_collections.rdsca.rotation.plugins.module_utils import inventory_records
from ansible_collections.rdsca.rotation.plugins.module_utils import result_scrub
from ansible_collections.rdsca.rotation.plugins.module_utils.inventory_records import DEFAULT_DETAIL
from ansible_collections.rdsca.rotation.plugins.module_utils.inventory_records import DETAILS


def argument_spec():
    spec = dict(
        engines=dict(type="list", elements="str"),
        identifiers=dict(type="list", elements="str"),
        tags=dict(type="dict"),
        expiring_within_days=dict(type="int"),
        environment_tag=dict(type="str", default=DEFAULT_ENVIRONMENT_TAG),
        set_facts=dict(type="bool", default=False),
        proxies=dict(type="bool", default=False),
        detail=dict(type="str", choices=list(DETAILS), default=DEFAULT_DETAIL),
        output_file=dict(type="path"),
    )
    spec.update(regions_argument_spec())
    spec.update(target_ca_argument_spec())
    spec.update(accounts_lib.accounts_argument_spec())
    return spec


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params

    # Every number: finite, in range (plugins/module_utils/numbers.py, shared by every module).
    problems = check_numbers(params, ["concurrency", "expiring_within_days"])
    problems += [p for p in check_regions_option(params["regions"]) + validate_options(params) if p not in problems]
    problems += accounts_lib.check_accounts(params)
    output_file = None
    if params["output_file"] is not None:
        output_file, why = inventory_records.check_output_file(params["output_file"])
        problems += [why] if why else []
    if problems:
        module.fail_json(msg="Invalid options: %s" % "; ".join(problems), problems=problems)
    options = filter_options(params)

    counter = CallCounter()
    clients = RegionClients(module, counter)
    regions = sorted(set(resolve_regions(module, clients, params["regions"])))
    # Named accounts (issue 17): each role assumed once; a failed one is reported, the others go on.
    named = accounts_lib.uses_accounts(params)
    accounts, failed_accounts = [], []
    if named:
        accounts, failed_accounts = accounts_lib.resolve_accounts(module, clients, params, module.region or regions[0],
                                                                  concurrency=params["concurrency"])
    aliases = dict((a["account"], a["alias"]) for a in accounts)
    where = [Scope(region, a["account"]) for a in accounts for region in regions] if named else [Scope(r) for r in regions]
    for scope in where:
        clients.prepare("rds", [scope.region], account=scope.account)

    now = utcnow()
    states = gather_scopes(clients, where, options, concurrency=params["concurrency"])

    databases = []
    region_facts = {}
    failed_regions = []
    target_problems = []
    for scope in where:
        state = states[scope]
        if state["error"] is not None:
            failed_regions.append(state["error"])
            continue
        found, facts = build_region(scope.region, state["raw"], options, now)
        for db in found:
            # The account: the assumed role's, else the ARN's (the module's own credentials).
            db["account"] = scope.account or accounts_lib.account_of_arn(db["arn"])
            db["account_alias"] = aliases.get(scope.account)
            db["label"] = db_label(scope.region, db["identifier"], scope.account)
        databases.extend(found)
        if named:
            facts["account"] = scope.account
            facts["account_alias"] = aliases.get(scope.account)
        region_facts[scope.label] = facts
        if facts["target_ca_problem"]:
            target_problems.append("%s: %s" % (scope.label, facts["target_ca_problem"]))
    unsupported = ["%s (%s %s)" % (d["label"], d["engine"], d["engine_version"])
                   for d in databases if d["target_ca_supported"] is False and d["needs_rotation"]]
    if unsupported:
        target_problems.append("%d database(s) run an engine version that does not support %s: %s" % (
            len(unsupported), options["target_ca"], ", ".join(unsupported)))
    for problem in target_problems:
        warn(module, "target_ca %s cannot be rotated to: %s" % (options["target_ca"], problem))

    proxies = _proxies(module, clients, where, failed_regions, databases, params["concurrency"]) if params["proxies"] else {}
    inventory = dict(
        proxies,
        generated_at=now.isoformat(),
        target_ca=options["target_ca"],
        target_ca_problems=target_problems,
        regions_queried=regions,
        databases=databases,
        regions=region_facts,
        failed_regions=failed_regions,
        summary=summarize(databases, regions, failed_regions),
    )
    if named:
        inventory["accounts"] = accounts
        inventory["failed_accounts"] = failed_accounts
        inventory["summary"]["accounts_queried"] = len(accounts) + len(failed_accounts)
        inventory["summary"]["accounts_failed"] = len(failed_accounts)
    else:
        inventory["failed_accounts"] = []
    # issue 20: the records once, shaped by detail; all of them in output_file when asked.
    if output_file is not None:
        written = inventory_records.shape_databases(databases, "compact" if params["detail"] == "summary" else params["detail"])
        try:
            inventory["output_file_bytes"] = inventory_records.write_records(output_file, written)
        except (OSError, inventory_records.safe_files.UnsafePathError) as exc:
            module.fail_json(msg="Could not write output_file %s: %s" % (output_file, exc), summary=inventory["summary"])
        inventory["output_file"] = output_file
    inventory["databases"] = inventory_records.shape_databases(databases, params["detail"])
    inventory["detail"] = params["detail"]
    result = dict(inventory, changed=False, api_calls=counter.snapshot())
    if params["set_facts"]:
        result["ansible_facts"] = dict(rds_ca=inventory)

    if failed_accounts:
        described = accounts_lib.describe_failed(failed_accounts)
        if params["strict"]:
            module.fail_json(msg="Could not assume the role of %d account(s), their databases are unknown: %s" % (
                len(failed_accounts), described), **result)
        warn(module, "Could not assume the role of %d account(s), reported in failed_accounts (their databases are "
                     "unknown): %s" % (len(failed_accounts), described))
    if failed_regions:
        described = ", ".join("%s (%s: %s)" % (Scope(f["region"], f.get("account")).label, f["error_code"], f["message"])
                              for f in failed_regions)
        if params["strict"]:
            module.fail_json(msg="Could not query %d region(s): %s" % (len(failed_regions), described), **result)
        warn(module, "Could not query %d region(s), reported in failed_regions: %s" % (len(failed_regions), described))
    if params["strict"] and result.get("proxy_errors"):
        module.fail_json(msg="Could not read the RDS Proxies: %s" % "; ".join(
            "%s (%s: %s: %s)" % (Scope(e["region"], e.get("account")).label, e["operation"], e["error_code"], e["message"])
            for e in result["proxy_errors"]), **result)
    # The records are most of the result: exit through result_scrub, which scrubs no_log values exactly as
    # exit_json does but does not copy the values that hold none (issue 20; see module_utils/result_scrub.py).
    result_scrub.exit_json(module, **result)


def _proxies(module, clients, where, failed_regions, databases, concurrency):
    """RV(proxies), RV(proxy_errors), and each database's proxied_by (module_utils.proxies), in every scope read."""
    failed = set(Scope(f["region"], f.get("account")) for f in failed_regions)
    found, errors, read = gather_proxies(clients, [scope for scope in where if scope not in failed], concurrency)
    attach_proxied_by(databases, found, read)
    if errors:
        warn(module, "Could not read the RDS Proxies of %s, reported in proxy_errors" % ", ".join(
            sorted(set("%s (%s: %s)" % (e["region"], e["operation"], e["error_code"]) for e in errors))))
    return dict(proxies=found, proxy_errors=errors)


if __name__ == "__main__":
    main()
