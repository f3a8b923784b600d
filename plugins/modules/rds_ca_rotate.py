#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: rds_ca_rotate
short_description: Rotate the certificate authority of many RDS and Aurora databases, safely and concurrently
version_added: 0.1.0
description:
  - Moves a fleet of databases to O(target_ca) the way a careful operator would, in one task.
  - B(Checks everything first.) Each region is read once (C(DescribeDBInstances), C(DescribeDBClusters),
    C(DescribePendingMaintenanceActions), C(DescribeCertificates), and C(DescribeDBEngineVersions) once per
    engine). Before anything is changed, the task fails when a database is not found, a cluster identifier is
    given where an instance is expected, O(target_ca) is not a valid CA of the region or is not in the exact
    engine version's C(SupportedCACertificateIdentifiers), or O(certificate_rotation_restart=false) lacks
    evidence that SSL/TLS is unused.
  - B(Never restarts by surprise.) When the engine version cannot rotate without a restart
    (C(SupportsCertificateRotationWithoutRestart)) and O(allow_restart=false), the database is not touched now -
    it is skipped with the reason, or scheduled for its maintenance window with O(on_restart_required=schedule).
  - B(Bounded concurrency.) At most O(concurrency) databases are being changed at a time; the next one starts
    when one finishes. Waiting costs one C(DescribeDBInstances) per region per O(poll_interval) for all the
    databases in flight (a C(db-instance-id) filter listing them), whatever their number.
  - B(Safe order.) With O(order=safe), the readers of an Aurora cluster are rotated before its writer and read
    replicas before their source (same region or cross-region), among the databases of the task.
  - B(A member that is not on the target blocks.) A writer is changed now only when every reader of its cluster
    in the task is confirmed on O(target_ca) (seen available on it, or already on it), and a source only when
    every replica in the task is - whatever kept the member back (a failed plan such as C(incompatible-parameters)
    or C(storage-full), a skip, a failed change, a failed or impossible verification). Otherwise it is not
    touched and ends C(blocked), with RV(databases[].blocked_by) naming the members and RV(databases[].reason)
    saying why they were not confirmed; the same holds transitively (a replica of a replica). A change left
    pending for the maintenance window (C(scheduled)) only needs its members pending or on the target.
    Running the task again once the member is fixed rotates it, then the blocked database. Check mode predicts
    C(blocked) the same way.
  - B(Verified.) With O(verify_endpoint), once a database is available on the new CA its endpoint is probed with
    a real TLS handshake (the engine's own TLS upgrade, no credentials) and the presented chain must map to
    O(target_ca) and verify against O(ca_cert) for the endpoint's name.
  - B(Rollback.) With O(rollback_on_failure), a database whose verification fails is returned to its previous
    CA, if that CA is still valid and supported, and reported as C(rolled_back). Only evidence that the new
    certificate is wrong counts as a failed verification - a presented chain of O(target_ca) that does not
    verify against O(ca_cert), or another CA still presented after O(verify_grace_period). An endpoint
    that cannot be reached (refused, timed out) is no such evidence - the database ends C(unverified) with the
    reason and is not rolled back, unless O(rollback_on_unreachable) asks for it.
  - Every database ends as C(rotated), C(scheduled), C(unchanged), C(skipped) (with a reason), C(blocked),
    C(unverified), C(rolled_back) or C(failed) (with the error). One failure never stops the others; the task
    fails at the end when any database failed, was rolled back, is blocked or unverified, listing them.
  - Aurora cluster identifiers expand to their member instances. Multi-AZ DB clusters (and their member
    instances) are rotated on the cluster with C(ModifyDBCluster).
  - DocumentDB and Neptune clusters are handled like Aurora (their CA is per member instance); their endpoints are
    verified over direct TLS (27017) and HTTPS (8182). See docs/engines.md for Neptune's ACM endpoint certificate.
  - Optionally sets the region's default CA for new launches (O(account_default), C(ModifyCertificates)) so that
    new databases stop appearing on the old CA, and always reports drift (default different from O(target_ca)).
author:
  - rdsca.rotation maintainers (@rdsca)
options:
  databases:
    description:
      - The databases to rotate. Each entry is one of
      - a DB instance or DB cluster identifier, in the connection region (O(region));
      - C(region/identifier), for example C(eu-west-1/orders-prod);
      - C(account/region/identifier), for example C(123456789012/eu-west-1/orders-prod), with O(accounts) or
        O(organization) (the labels of RV(databases) then have that form);
      - an RDS ARN (C(arn:aws:rds:eu-west-1:123456789012:db:orders-prod) or C(...:cluster:inventory-aurora));
      - "a mapping with C(identifier) (or C(id)), and optionally C(region), C(type) (C(auto), C(instance) or
        C(cluster): say which the identifier must be), C(connect_host) and C(connect_port) (where to connect
        for O(verify_endpoint), for example a tunnel). The entries of RV(rdsca.rotation.rds_ca_facts#module:databases) and of
        RV(databases) fit as they are; their other keys are ignored."
      - Duplicates (the same database listed twice, or an instance listed with its cluster) are merged.
      - "With O(accounts) or O(organization): the account of an entry is the one of its label, ARN or C(account) key
        (as RV(rdsca.rotation.rds_ca_facts#module:databases) carry it); an entry without one needs O(accounts) to list
        exactly one account. Without them, an entry naming another account than the database found is refused."
    type: list
    elements: raw
    required: true
  apply:
    description:
      - How the change is applied.
      - V(immediately) - C(ApplyImmediately=true), then wait until the database is available on the new CA.
      - V(maintenance_window) - C(ApplyImmediately=false); the change shows as pending
        (C(PendingModifiedValues)) and is applied, with any restart it needs, in the database's maintenance
        window. O(allow_restart) does not apply.
      - V(pending_action) - opt in to the C(ca-certificate-rotation) pending maintenance action that RDS raises
        as a CA nears its expiry (C(ApplyPendingMaintenanceAction), with O(opt_in_type)). That action moves
        databases to C(rds-ca-rsa2048-g1), so O(target_ca) must be that CA. Databases without the action are
        skipped.
    type: str
    choices: [immediately, maintenance_window, pending_action]
    default: immediately
  opt_in_type:
    description:
      - With O(apply=pending_action), V(immediate) (apply now, like O(apply=immediately)) or V(next-maintenance).
      - Defaults to V(next-maintenance).
    type: str
    choices: [immediate, next-maintenance]
  allow_restart:
    description:
      - Whether a database may be restarted now to rotate its CA.
      - When V(false) and the exact engine version does not rotate without a restart (or is not known to), the
        database is left alone as O(on_restart_required) says.
    type: bool
    default: false
  on_restart_required:
    description:
      - What to do with a database that would restart when O(allow_restart=false).
      - V(skip) - leave it, status C(skipped) with the reason.
      - V(schedule) - make the change pending for its maintenance window (C(ApplyImmediately=false); with
        O(apply=pending_action), opt in to V(next-maintenance)), status C(scheduled).
    type: str
    choices: [skip, schedule]
    default: skip
  certificate_rotation_restart:
    description:
      - Sent as C(CertificateRotationRestart) for DB instances whose engine version does not rotate without a
        restart. Unset (the default), RDS restarts them.
      - V(false) rotates without a restart; the endpoint presents the new certificate only after its next
        restart. AWS says to set it only if you are not using SSL/TLS, so it is refused unless O(ssl_usage)
        shows, for every such database, that SSL/TLS is not used.
      - V(true) is sent as is, and such databases count as restarting.
      - Never sent to Neptune, whose C(ModifyDBInstance) has no such parameter; V(false) is refused for a Neptune
        instance.
    type: bool
  ssl_usage:
    description:
      - Evidence for O(certificate_rotation_restart=false) - the registered result of C(rdsca.rotation.rds_ssl_usage)
        (a mapping with a C(databases) list) or a list of per-database mappings.
      - Each entry names a database (C(identifier) or C(id), optional C(region)) and says whether it uses SSL/TLS,
        with C(ssl_in_use) (or C(uses_ssl), C(tls_in_use)), or with a count C(ssl_connections) (or
        C(tls_connections)). An entry that says neither is no evidence.
    type: raw
  concurrency:
    description:
      - How many databases are being changed (and waited for, and verified) at the same time, 1 to 500.
      - The one name of the collection for "how many at a time" (as in M(rdsca.rotation.rds_ca_facts) and
        M(rdsca.rotation.rds_ssl_usage)). The deprecated alias O(max_concurrent) is its former name.
    type: int
    default: 5
    aliases: [max_concurrent]
  order:
    description:
      - V(safe) - Aurora readers before their writer, read replicas before their source (in this run).
      - V(as_given) - the order of O(databases), no constraints.
    type: str
    choices: [safe, as_given]
    default: safe
  wait:
    description:
      - Wait for each change applied now to complete (the database available on O(target_ca)).
      - With V(false) the changes are only submitted (statuses C(rotated) with RV(databases[].confirmed=false)),
        and databases in a transitional status (for example C(backing-up)) are skipped instead of waited for.
        With O(order=safe), an Aurora writer or a replica source in the same task is then C(blocked), because
        its readers or replicas are not confirmed on O(target_ca); run it again once they are, or use
        O(order=as_given) to submit everything at once.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait, per database, for it to become available before the change, and for the change (or a
        rollback) to complete. More than 0, at most 604800 (7 days).
    type: int
    default: 3600
  poll_interval:
    description:
      - Seconds between two polls (one C(DescribeDBInstances) per region for all the databases in flight).
      - A finite number, more than 0, at most 3600 and not more than O(wait_timeout) (a poll would otherwise sleep
        past the timeout). NaN and infinity are refused, like every number of every module of this collection,
        before any change.
    type: float
    default: 15
  verify_endpoint:
    description:
      - After a change applied now, probe each database endpoint with a TLS handshake and require that the
        presented chain maps to O(target_ca) and verifies against O(ca_cert) for the endpoint's name.
      - While the endpoint cannot be reached or still presents the previous CA, it is probed again for up to
        O(verify_grace_period) seconds; a chain of O(target_ca) that does not verify fails (after a second probe
        round confirms it). Still another CA at the end of the grace period fails; still unreachable ends
        C(unverified).
      - Not done for O(certificate_rotation_restart=false) (the new certificate is presented after the next
        restart).
    type: bool
    default: false
  ca_cert:
    description:
      - The PEM bundle clients use to trust RDS (for example AWS's C(global-bundle.pem)); required with
        O(verify_endpoint).
      - The same name as the CA file of every module of the collection (and of community.postgresql). The
        deprecated alias O(verify_ca_bundle) is its former name.
      - Checked before any AWS call - the task fails, with nothing changed, when it does not exist, is not a
        readable file, is not a PEM bundle of CA certificates, or (for a G1 O(target_ca)) lacks the target CA's
        root for a region of O(databases), since it could then not verify a correct certificate. The file's
        content is never shown.
      - Keys, not names, are trusted - as for M(rdsca.rotation.rds_ca_bundle), a certificate in the bundle with an
        Amazon RDS name must be one of AWS's RDS CA certificates pinned in the collection, unless
        O(allow_unpinned_rds_cas).
    type: path
    aliases: [verify_ca_bundle]
  allow_unpinned_rds_cas:
    description:
      - Accept certificates in O(ca_cert) that carry an Amazon RDS name but are not among AWS's pinned RDS
        CA certificates (a newly published RDS root before the collection's catalog is refreshed, or a test PKI such
        as the collection's simulator). Each one is named in a warning. The same option as
        M(rdsca.rotation.rds_ca_bundle)'s.
      - Also read from the environment variable E(RDSCA_ALLOW_UNPINNED_RDS_CAS) of the controller.
    type: bool
    default: false
  connect_host:
    description:
      - Where to connect for O(verify_endpoint), for every database without its own C(connect_host), while the
        TLS server name stays the endpoint address (for example a bastion tunnel, or C(127.0.0.1)).
    type: str
  verify_timeout:
    description:
      - Seconds one TLS probe may take.
    type: int
    default: 10
  verify_grace_period:
    description:
      - Seconds to keep probing an endpoint that is unreachable or still presents the previous CA after the API
        reports the change complete.
    type: int
    default: 120
  rollback_on_failure:
    description:
      - When verification fails, put the database back on its previous CA (C(ApplyImmediately=true)) if that CA is
        still valid and supported by its engine version, wait for it, and report C(rolled_back). Otherwise it is
        C(failed), with why it was not rolled back.
      - Requires O(verify_endpoint).
    type: bool
    default: false
  rollback_on_unreachable:
    description:
      - Also roll back (as O(rollback_on_failure) does) a database whose endpoint could not be reached during
        the whole O(verify_grace_period).
      - V(false) (the default) - such a database ends C(unverified), on O(target_ca) per the API, its certificate
        not checked, no second change and no second restart. An unreachable endpoint is usually a network path
        (security group, tunnel, controller outside the VPC), not a wrong certificate.
      - Requires O(rollback_on_failure).
    type: bool
    default: false
  account_default:
    description:
      - Also set the default CA for new launches (C(ModifyCertificates)) to O(target_ca) in every region of
        O(databases) (the connection region when O(databases) is empty), so that new databases stop appearing
        on the old CA.
      - With O(accounts) or O(organization), in every region of O(databases) (or the connection region) of every
        account named or discovered, whether or not it has databases in O(databases); an account whose role
        cannot be assumed is in RV(failed_accounts) and each of its regions in RV(failures) (its default is
        unknown and not set), unless O(strict) stops the task first.
      - Drift (a default other than O(target_ca)) is reported in RV(regions) either way.
    type: bool
    default: false
  strict:
    description:
      - What happens when the role of an account of O(accounts) cannot be assumed.
      - V(false) - its databases are reported in RV(failures) (unknown, not changed) and RV(failed_accounts), the
        other accounts are rotated, and the task fails at the end.
      - V(true) - the task fails before any change, listing RV(failed_accounts).
      - The same name as this switch in every module of the collection.
    type: bool
    default: false
  detail:
    description:
      - How much of each item RV(databases) returns. V(full), every key (the default).
      - V(compact), the same items without the keys that hold their default value - C(cluster_id),
        C(cluster_role), C(reason), C(error), C(previous_pending_ca), C(pending_ca), C(confirmed), C(blocked_by),
        C(verification), C(rollback), C(started_at), C(finished_at), C(duration_seconds) null, C(statuses_seen)
        and C(notes) empty. About a quarter smaller at 2,000 databases; the C(rdsca.rotation.rotation_record) filter
        (the rotate playbook) puts the left-out keys back.
      - RV(summary) and RV(failures) are the same either way.
    type: str
    choices: [compact, full]
    default: full
notes:
  - "Idempotent: a database already on O(target_ca), or with that change already pending when
    O(apply=maintenance_window), or already opted in to V(next-maintenance), is C(unchanged)."
  - "Check mode reads, plans and reports per database the C(action) (C(rotate), C(schedule), C(skip), C(none),
    C(fail)), the C(status) it would end with and C(would_restart); nothing is changed, nothing is waited for."
  - "Diff mode shows, per database changed (or that would be), its CA and pending CA before and after."
  - "Statuses other than C(available): transitional ones (C(modifying), C(rebooting), C(backing-up),
    C(upgrading)...) are waited for, up to O(wait_timeout); C(stopped), C(stopping) and C(deleting) are skipped;
    C(storage-full), C(failed), C(incompatible-*), C(inaccessible-encryption-credentials) and
    C(restore-error) fail that database with the reason."
  - "Throttling and transient errors are retried with the amazon.aws jittered backoff; a poll that still fails is
    retried at the next poll, until O(wait_timeout)."
  - "A change is never sent twice on a guess. C(ModifyDBInstance), C(ModifyDBCluster) and
    C(ApplyPendingMaintenanceAction) are sent once (botocore's own retries are off for them; throttling alone
    is retried, as it means the request was refused unprocessed). After an answer that leaves the outcome
    unknown - a read timeout, a closed connection, an HTTP 5xx - the database is described first: the target
    CA applied or pending means the change was accepted (C(changed), then waited for as usual, with a note
    in RV(databases[].notes)); a database still busy is looked at again at the next poll; available without
    the change means it was not accepted, and it is sent again (5 attempts in all) or reported C(failed)."
  - "IAM permissions: C(rds:DescribeDBInstances), C(rds:DescribeDBClusters), C(rds:DescribeDBEngineVersions),
    C(rds:DescribeCertificates), C(rds:DescribePendingMaintenanceActions), and as used C(rds:ModifyDBInstance),
    C(rds:ModifyDBCluster), C(rds:ApplyPendingMaintenanceAction), C(rds:ModifyCertificates)."
  - "IAM permissions with O(accounts) or O(organization): C(sts:AssumeRole) on each account's role (the module's own
    credentials), C(organizations:ListAccounts) for O(organization), and in each account C(iam:ListAccountAliases)
    (optional) besides the permissions above; each role trusts the module's principal (C(docs/iam-trust-policy.json))."
seealso:
  - module: rdsca.rotation.rds_ca_facts
extends_documentation_fragment:
  - rdsca.rotation.attributes
  - rdsca.rotation.attributes.AWS_PLATFORM
  - rdsca.rotation.attributes.ACTION_GROUP
  - rdsca.rotation.target_ca
  - rdsca.rotation.aws
  - rdsca.rotation.accounts
  - rdsca.rotation.pinned_rds_cas
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Rotate staging now, restart-free engines only, verified, rolled back if a client could not verify
  rdsca.rotation.rds_ca_rotate:
    databases: "{{ inventory.databases | selectattr('environment', 'equalto', 'staging') | selectattr('needs_rotation') }}"
    target_ca: rds-ca-rsa2048-g1
    concurrency: 5
    verify_endpoint: true
    ca_cert: /etc/pki/rds/global-bundle.pem
    rollback_on_failure: true
  register: staging

- name: Production - restart-free engines now, the others in their maintenance window
  rdsca.rotation.rds_ca_rotate:
    databases:
      - orders-prod
      - eu-west-1/payments-prod
      - inventory-aurora            # Aurora cluster - readers first, then the writer
    on_restart_required: schedule
    account_default: true           # new launches in those regions get the new CA too
  register: production


- name: Everything in the next maintenance window, through RDS's ca-certificate-rotation maintenance action
  rdsca.rotation.rds_ca_rotate:
    databases: "{{ inventory.databases | selectattr('pending_maintenance') }}"
    apply: pending_action
    opt_in_type: next-maintenance

- name: Rotate without restarting, where rds_ssl_usage proved that nobody uses SSL/TLS
  rdsca.rotation.rds_ca_rotate:
    databases: "{{ usage.databases | selectattr('safe_without_restart') }}"
    certificate_rotation_restart: false
    ssl_usage: "{{ usage }}"

- name: What would happen, with the CA before and after (check and diff mode)
  rdsca.rotation.rds_ca_rotate:
    databases: [orders-staging, orders-prod]
  check_mode: true
  diff: true
  register: preview

- name: Roll back a run - each database to its previous_ca, one task per previous CA
  rdsca.rotation.rds_ca_rotate:
    databases: "{{ item.1 }}"
    target_ca: "{{ item.0 }}"
    allow_restart: true
  loop: "{{ staging.databases | selectattr('status', 'equalto', 'rotated') | groupby('previous_ca') }}"
  loop_control:
    label: "{{ item.0 }}"

- name: A database of another account, by its label, through that account's role
  rdsca.rotation.rds_ca_rotate:
    databases: [210987654321/us-east-1/orders-prod]
    role_name: rdsca-rotation
    accounts:
      - account_id: "210987654321"
  register: other_account

- name: The default CA for new launches in eu-west-1 of every account listed, with or without databases there
  rdsca.rotation.rds_ca_rotate:
    databases: []
    region: eu-west-1
    account_default: true
    role_name: rdsca-rotation
    accounts:
      - account_id: "123456789012"
      - account_id: "210987654321"
  register: defaults
"""

RETURN = r"""
changed:
  description: Whether any database (or region default) was changed, or would be in check mode.
  returned: always
  type: bool
  sample: true
target_ca:
  description: O(target_ca).
  returned: always
  type: str
  sample: rds-ca-rsa2048-g1
databases:
  description: One entry per database (DB instance, or Multi-AZ DB cluster), in the order of O(databases).
  returned: always
  type: list
  elements: dict
  contains:
    identifier:
      description: DB instance identifier, or DB cluster identifier for a Multi-AZ DB cluster.
      type: str
      sample: orders-prod
    region:
      description: Region.
      type: str
      sample: us-east-1
    account:
      description: The 12-digit account (the assumed role's with O(accounts), else the one in its ARN).
      type: str
      sample: "123456789012"
    account_alias:
      description: The account's alias, with O(accounts) (given, else its IAM alias when readable); else null.
      type: str
      sample: shop-prod
    label:
      description:
        - C(region/identifier), or C(account/region/identifier) with O(accounts) or O(organization). The order
          (O(order=safe)) only ever ties databases of the same account (an Aurora cluster, a replica family).
      type: str
      sample: us-east-1/orders-prod
    kind:
      description: C(instance), or C(cluster) for a Multi-AZ DB cluster (rotated with C(ModifyDBCluster)).
      type: str
      sample: instance
    arn:
      description: ARN of the instance or cluster.
      type: str
    engine:
      description: Engine.
      type: str
      sample: postgres
    engine_version:
      description: Exact engine version.
      type: str
      sample: "16.3"
    cluster_id:
      description: The DB cluster of an Aurora member or of a Multi-AZ DB cluster, else null.
      type: str
    cluster_role:
      description: C(writer) or C(reader) for an Aurora member, else null.
      type: str
    members:
      description: The DB instances concerned (the instance itself, or the cluster's members).
      type: list
      elements: str
    status:
      description:
        - C(rotated), C(scheduled), C(unchanged), C(skipped), C(blocked), C(unverified), C(rolled_back) or C(failed).
        - C(blocked) - not changed, because a database it must come after (O(order=safe)) is not confirmed on
          O(target_ca); RV(databases[].blocked_by) names them.
        - C(unverified) - changed and seen available on O(target_ca), but its endpoint could not be reached to
          verify the certificate within O(verify_grace_period); not rolled back (see O(rollback_on_unreachable)).
        - In check mode, the status it would end with (verification not included).
      type: str
      sample: rotated
    action:
      description: What the plan was - C(rotate), C(schedule), C(skip), C(none) or C(fail).
      type: str
      sample: rotate
    changed:
      description: Whether this database was changed (or would be, in check mode).
      type: bool
    reason:
      description: Why it was scheduled, skipped, unchanged, rolled back or failed; null for a plain rotation.
      type: str
      sample: postgres 14.10 cannot rotate its certificate without a restart and allow_restart is false
    error:
      description: For C(failed) - C(message), and C(error_code) and C(operation) when an AWS call failed.
      type: dict
    target_ca:
      description: The CA it was moved to.
      type: str
    previous_ca:
      description: The CA before this run - what a rollback returns it to.
      type: str
      sample: rds-ca-2019
    previous_pending_ca:
      description: The CA of a change pending before this run, else null.
      type: str
    current_ca:
      description: The CA at the end (as last seen by a poll, or as predicted in check mode).
      type: str
      sample: rds-ca-rsa2048-g1
    pending_ca:
      description: The CA of a change pending at the end (for C(scheduled), O(target_ca)), else null.
      type: str
    would_restart:
      description: Whether applying the change restarts the database - V(true), V(false) or C(unknown).
      type: raw
      sample: false
    rotation_without_restart:
      description: C(SupportsCertificateRotationWithoutRestart) of the exact engine version, or C(unknown).
      type: raw
    apply:
      description: O(apply).
      type: str
    statuses_seen:
      description: The statuses polls saw while waiting, in order (for example C(modifying), C(rebooting), C(available)).
      type: list
      elements: str
    confirmed:
      description: V(true) when the database was seen available on O(target_ca); V(false) with O(wait=false); else null.
      type: bool
    blocked_by:
      description: For C(blocked) - the databases (C(region/identifier)) it had to come after that were not confirmed on O(target_ca); else null.
      type: list
      elements: str
      sample: [us-east-1/orders-replica]
    verification:
      description:
        - With O(verify_endpoint) - C(verified) (bool), C(outcome) (C(verified), C(failed) - evidence that the
          certificate is wrong -, or C(unreachable)), C(message) (why not; for a verified Neptune endpoint that
          presents its ACM certificate, that it does so), and C(probes), one per endpoint with
          C(identifier), C(server_name), C(connect_host), C(connect_port), C(ca_id) (the CA the presented chain
          maps to), C(issuer), C(not_after), C(verified), C(hostname_matches), C(tls_version), C(error), C(engine),
          and C(endpoint_certificate=acm) when the endpoint presents the ACM certificate (Amazon Trust Services)
          AWS documents for Neptune - accepted as unchanged by the CA change (docs/engines.md).
      type: dict
    rollback:
      description:
        - After a failed verification with O(rollback_on_failure) - C(attempted), C(to_ca), C(completed), C(reason),
          C(error), and C(uncertain) (the error of a rollback call whose answer was lost; the polls then decided).
      type: dict
    notes:
      description:
        - Remarks from planning (waited for a status, no restart with certificate_rotation_restart...), and from
          the run (a change whose answer was lost, decided from what C(DescribeDBInstances) showed).
      type: list
      elements: str
    started_at:
      description: When work on it started (UTC, ISO 8601), null if it was not started.
      type: str
    finished_at:
      description: When it finished.
      type: str
    duration_seconds:
      description: Seconds from start to finish.
      type: float
detail:
  description: The O(detail) of RV(databases).
  returned: always
  type: str
  sample: full
summary:
  description: Number of databases per final status, and C(total).
  returned: always
  type: dict
  sample: {rotated: 18, scheduled: 1, unchanged: 3, skipped: 1, blocked: 0, unverified: 0, rolled_back: 0, failed: 1, total: 24}
  contains:
    by_account:
      description:
        - With O(accounts) or O(organization), the same counts per account (the databases of an account in
          RV(failed_accounts) count as C(failed)).
      type: dict
      returned: when O(accounts) or O(organization) is set
      sample: {"222222222222": {rotated: 2, unchanged: 1, failed: 0, total: 3}}
failures:
  description:
    - The databases that failed, were rolled back, are blocked or unverified (and regions whose default CA could
      not be set, or with O(account_default) the C(account/region) of an account whose role could not be assumed) - C(label),
      C(status), C(reason). The task fails when this is not empty.
  returned: always
  type: list
  elements: dict
accounts:
  description: The accounts whose role was assumed (with O(accounts) or O(organization)) - C(account), C(role_arn), C(alias).
  returned: when O(accounts) or O(organization) is set
  type: list
  elements: dict
failed_accounts:
  description:
    - The accounts whose role could not be assumed - C(account), C(role_arn), C(error_code), C(message). Their
      databases are in RV(failures), unknown and unchanged. Empty without O(accounts).
  returned: always
  type: list
  elements: dict
regions:
  description:
    - Per region (C(account/region) with O(accounts) or O(organization)) of the databases - and with O(account_default)
      and named accounts, per region of every account whose role was assumed - C(default_ca_for_new_launches) (at the end), C(previous_default_ca),
      C(customer_override), C(drift) (the default is not O(target_ca)), C(changed), and C(error) if
      C(ModifyCertificates) failed.
  returned: always
  type: dict
  sample:
    us-east-1: {default_ca_for_new_launches: rds-ca-rsa2048-g1, previous_default_ca: rds-ca-rsa2048-g1,
                customer_override: null, drift: false, changed: false}
notes:
  description: Remarks about the input (a Multi-AZ DB cluster member rotated through its cluster...).
  returned: always
  type: list
  elements: str
waiting:
  description:
    - How waiting went - C(polls) (rounds), C(describe_calls) per region (one per poll), C(poll_errors) (polls
      that failed even after retries), C(max_in_flight) (never more than O(concurrency)).
  returned: always
  type: dict
  sample: {polls: 12, describe_calls: {us-east-1: 12}, poll_errors: [], max_in_flight: 5}
api_calls:
  description: HTTP requests sent, per region (C(account/region) in another account) and operation, retries included.
  returned: always
  type: dict
  sample: {us-east-1: {DescribeDBInstances: 13, ModifyDBInstance: 20, DescribeCertificates: 1}}
"""

import time

from ansible.module_utils.basic import env_fallback

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.rdsca.rotation.plugins.module_utils import accounts as accounts_lib
from ansible_collections.rdsca.rotation.plugins.module_utils import rotation as plan_lib
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import CallCounter
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import warn
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import RegionClients
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import utcnow
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import validate_regions
from ansible_collections.rdsca.rotation.plugins.module_utils.inventory import target_ca_argument_spec
from ansible_collections.rdsca.rotation.plugins.module_utils import rotation_records
from ansible_collections.rdsca.rotation.plugins.module_utils.rotation_aws import RdsApi
from ansible_collections.rdsca.rotation.plugins.module_utils.rotation_aws import discover
from ansible_collections.rdsca.rotation.plugins.module_utils.numbers import check_numbers
from ansible_collections.rdsca.rotation.plugins.module_utils.option_names import deprecated
from ansible_collections.rdsca.rotation.plugins.module_utils.option_names import number_view
from ansible_collections.rdsca.rotation.plugins.module_utils.rotation_runner import ApiError
from ansible_collections.rdsca.rotation.plugins.module_utils.rotation_runner import Job
from ansible_collections.rdsca.rotation.plugins.module_utils.rotation_runner import Runner
from ansible_collections.rdsca.rotation.plugins.module_utils.rds_api import Scope


# The range of numbers.RULES that the renamed option keeps (option_names.py).
NUMBER_RULES = {"concurrency": "max_concurrent"}


def argument_spec():
    spec = dict(
        databases=dict(type="list", elements="raw", required=True),
        apply=dict(type="str", choices=list(plan_lib.APPLY_CHOICES), default=plan_lib.APPLY_IMMEDIATELY),
        opt_in_type=dict(type="str", choices=list(plan_lib.OPT_IN_CHOICES)),
        allow_restart=dict(type="bool", default=False),
        on_restart_required=dict(type="str", choices=list(plan_lib.ON_RESTART_CHOICES), default="skip"),
        certificate_rotation_restart=dict(type="bool"),
        ssl_usage=dict(type="raw"),
        concurrency=dict(type="int", default=5, aliases=["max_concurrent"],
                         deprecated_aliases=[deprecated("max_concurrent")]),
        order=dict(type="str", choices=list(plan_lib.ORDER_CHOICES), default="safe"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=3600),
        poll_interval=dict(type="float", default=15),
        verify_endpoint=dict(type="bool", default=False),
        ca_cert=dict(type="path", aliases=["verify_ca_bundle"], deprecated_aliases=[deprecated("verify_ca_bundle")]),
        allow_unpinned_rds_cas=dict(type="bool", default=False, fallback=(env_fallback, ["RDSCA_ALLOW_UNPINNED_RDS_CAS"])),
        pinned_rds_cas=dict(type="list", elements="str", default=[], fallback=(env_fallback, ["RDSCA_PINNED_RDS_CAS"])),
        connect_host=dict(type="str"),
        verify_timeout=dict(type="int", default=10),
        verify_grace_period=dict(type="int", default=120),
        rollback_on_failure=dict(type="bool", default=False),
        rollback_on_unreachable=dict(type="bool", default=False),
        account_default=dict(type="bool", default=False),
        strict=dict(type="bool", default=False),
        detail=dict(type="str", choices=list(rotation_records.DETAILS), default=rotation_records.DEFAULT_DETAIL),
    )
    spec.update(target_ca_argument_spec())
    spec.update(accounts_lib.accounts_argument_spec())
    return spec


def assign_accounts(params, requests):
    """Problems with the accounts of the requests (named accounts): each request gets its ``account``."""
    problems = []
    for request in requests:
        name = "databases entry %s" % plan_lib.label(request["region"], request["identifier"], request.get("account"))
        account, problem = accounts_lib.entry_account(params, request.get("account"), name)
        if problem:
            problems.append(problem)
        else:
            request["account"] = account
    return problems


def unknown_failures(requests, failed, target):
    """The requests in accounts whose role could not be assumed: failures, never "nothing to do"."""
    out = []
    for request in requests:
        failure = failed.get(request.get("account"))
        if failure is not None:
            out.append(dict(label=plan_lib.label(request["region"], request["identifier"], request["account"]),
                            status=plan_lib.FAILED,
                            reason="account %s: its role %s could not be assumed (%s: %s); the database is unknown "
                                   "and nothing was changed there (target %s)" % (
                                       failure["account"], failure["role_arn"], failure["error_code"],
                                       failure["message"], target)))
    return out


def unknown_defaults(failed_accounts, regions, target):
    """With account_default: each region of an account whose role could not be assumed - a failure, not set."""
    return [dict(label=Scope(region, failure["account"]).label, status=plan_lib.FAILED,
                 reason="account %s: its role %s could not be assumed (%s: %s); the default CA for new launches is "
                        "unknown and was not set to %s" % (failure["account"], failure["role_arn"],
                                                           failure["error_code"], failure["message"], target))
            for failure in failed_accounts for region in regions]


def region_defaults(module, api, data, regions, target, check_mode):
    """Report (and with account_default set) each region's default CA for new launches."""
    report = {}
    for region in regions:
        facts = data.get(region) or {}
        default = facts.get("default_ca_for_new_launches")
        entry = dict(previous_default_ca=default, default_ca_for_new_launches=default,
                     customer_override=facts.get("customer_override"), drift=default != target, changed=False)
        if module.params["account_default"] and default != target:
            entry["changed"] = True
            if not check_mode:
                try:
                    api.set_default_ca(region, target)
                    entry["default_ca_for_new_launches"] = target
                    entry["customer_override"] = target
                except ApiError as e:
                    entry["changed"] = False
                    entry["error"] = e.as_dict()
            else:
                entry["default_ca_for_new_launches"] = target
            entry["drift"] = entry["default_ca_for_new_launches"] != target
        report[region] = entry
    return report


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    target = params["target_ca"]

    # Numbers first (NaN, infinity, ranges, poll_interval within wait_timeout), each named once.
    values, labels = number_view(params, NUMBER_RULES)
    problems = check_numbers(values, labels=labels)
    problems += [p for p in plan_lib.check_options(params) if p not in problems]
    requests, entry_problems = plan_lib.normalize_entries(params["databases"], module.region)
    problems += entry_problems
    evidence, evidence_problems = plan_lib.parse_ssl_evidence(params["ssl_usage"])
    problems += evidence_problems
    regions = sorted(set(r["region"] for r in requests)) or ([module.region] if module.region else [])
    problems += validate_regions(regions)
    problems += accounts_lib.check_accounts(params)
    named = accounts_lib.uses_accounts(params)
    if named and not problems:
        problems += assign_accounts(params, requests)
    if not regions:
        problems.append("no region: give databases, or the connection region (region, AWS_REGION)")
    if params["ca_cert"] and not problems:
        bundle_warnings = []
        problems += plan_lib.check_ca_bundle_file(params["ca_cert"], regions, target, option="ca_cert",
                                                  allow_unpinned=params["allow_unpinned_rds_cas"], pins=params["pinned_rds_cas"],
                                                  warnings=bundle_warnings)
        for message in bundle_warnings:
            warn(module, message)
    if problems:
        module.fail_json(msg="Invalid options, nothing was changed: %s" % "; ".join(problems), problems=problems)

    counter = CallCounter()
    clients = RegionClients(module, counter)
    # Named accounts (issue 17): the roles of the accounts the databases are in, each assumed once.
    accounts, failed_accounts, unknown, unknown_regions = [], [], [], []
    where = [Scope(region) for region in regions]
    if named:
        # The account default is set in every named account (each region of databases, or the connection
        # region): every role is assumed then; otherwise only those of the accounts the databases are in.
        only = None if params["account_default"] else set(r["account"] for r in requests)
        accounts, failed_accounts = accounts_lib.resolve_accounts(
            module, clients, params, module.region or regions[0], only=only)
        if failed_accounts and params["strict"]:
            module.fail_json(msg="Nothing was changed: could not assume the role of %d account(s): %s" % (
                len(failed_accounts), accounts_lib.describe_failed(failed_accounts)),
                failed_accounts=failed_accounts, accounts=accounts, api_calls=counter.snapshot())
        resolved = set(a["account"] for a in accounts)
        failed = dict((f["account"], f) for f in failed_accounts)
        missing = sorted(set(r["account"] for r in requests) - resolved - set(failed))
        if missing:
            module.fail_json(msg="Nothing was changed: account(s) %s are not among the organization's accounts "
                                 "(organization include/exclude)" % ", ".join(missing), api_calls=counter.snapshot())
        unknown = unknown_failures(requests, failed, target)
        if params["account_default"]:
            unknown_regions = unknown_defaults(failed_accounts, regions, target)
        requests = [r for r in requests if r["account"] in resolved]
        where = set(Scope(r["region"], r["account"]) for r in requests)
        if params["account_default"]:
            where |= set(Scope(region, account) for account in resolved for region in regions)
        where = sorted(where, key=lambda w: w.label)
        for request in requests:
            request["place"] = Scope(request["region"], request["account"]).label
    for scope in where:
        clients.prepare("rds", [scope.region], single_attempt=not module.check_mode, account=scope.account)
    api = RdsApi(clients, ca_bundle=params["ca_cert"], connect_host=params["connect_host"],
                 probe_timeout=params["verify_timeout"])

    data, problems = discover(clients, where, requests, target, utcnow(),
                              aliases=dict((a["account"], a["alias"]) for a in accounts))
    units, notes, resolve_problems = plan_lib.resolve_units(requests, dict((r, d["view"]) for r, d in data.items()))
    problems += resolve_problems
    for region in sorted(data):
        problems += plan_lib.check_target_ca(region, target, data[region]["certificates"])
    opts = dict((k, params[k]) for k in ("apply", "opt_in_type", "allow_restart", "on_restart_required",
                                         "certificate_rotation_restart", "wait"))
    opts["target_ca"] = target
    jobs = []
    for unit in units:
        region = data[unit["place"]]
        plan = plan_lib.plan_unit(unit, opts, dict(capabilities=region["capabilities"],
                                                   certificates=region["certificates"], evidence=evidence))
        problems += plan["problems"]
        jobs.append(Job(unit, plan))
    if problems:
        module.fail_json(msg="Nothing was changed: %s" % "; ".join(problems), problems=problems, notes=notes,
                         failed_accounts=failed_accounts, api_calls=counter.snapshot())

    regions_report = region_defaults(module, api, data, [w.label for w in where], target, module.check_mode)

    runner_options = dict(max_concurrent=params["concurrency"], order=params["order"], wait=params["wait"],
                          wait_timeout=params["wait_timeout"], poll_interval=params["poll_interval"],
                          verify=params["verify_endpoint"], verify_grace_period=params["verify_grace_period"],
                          rollback_on_failure=params["rollback_on_failure"],
                          rollback_on_unreachable=params["rollback_on_unreachable"], apply=params["apply"])
    runner = Runner(api, jobs, runner_options, clock=time.monotonic, sleep=time.sleep, warn=lambda message: warn(module, message))
    if module.check_mode:
        results = runner.preview()
    else:
        from concurrent.futures import ThreadPoolExecutor
        executors = []
        if params["verify_endpoint"]:
            runner.executor = ThreadPoolExecutor(max_workers=params["concurrency"])
            executors.append(runner.executor)
        polled_regions = set(job.unit["place"] for job in jobs)
        if len(polled_regions) > 1:
            # Its own pool, so that a poll never queues behind endpoint probes.
            runner.poll_executor = ThreadPoolExecutor(max_workers=len(polled_regions))
            executors.append(runner.poll_executor)
        try:
            results = runner.run()
        finally:
            for executor in executors:
                executor.shutdown(wait=True)

    failures = [dict(label=r["label"], status=r["status"], reason=r["reason"])
                for r in results if r["status"] in plan_lib.FAILURE_STATUSES]
    failures += [dict(label=region, status=plan_lib.FAILED, reason="ModifyCertificates failed: %s" % r["error"]["message"])
                 for region, r in sorted(regions_report.items()) if r.get("error")]
    failures += unknown + unknown_regions
    result = dict(
        changed=any(r["changed"] for r in results) or any(r["changed"] for r in regions_report.values()),
        target_ca=target,
        databases=rotation_records.shape_units(results, params["detail"]),
        detail=params["detail"],
        summary=plan_lib.summarize(results),
        failures=failures,
        regions=regions_report,
        notes=notes,
        waiting=dict(polls=runner.polls, describe_calls=runner.describe_calls, poll_errors=runner.poll_errors,
                     max_in_flight=runner.scheduler.max_in_flight),
        failed_accounts=failed_accounts,
        api_calls=counter.snapshot(),
    )
    if named:
        result["accounts"] = accounts
        # Per account: the statuses of its databases; an account whose role failed counts its requests as failed.
        by_account = accounts_lib.by_account(results, plan_lib.summarize, [a["account"] for a in accounts])
        for failure in failed_accounts:
            count = sum(1 for f in unknown if f["label"].startswith(failure["account"] + "/"))
            by_account[failure["account"]] = dict(plan_lib.summarize([]), failed=count, total=count)
        result["summary"] = dict(result["summary"], by_account=by_account)
    if module._diff:
        result["diff"] = plan_lib.build_diff(results)
    if failures:
        listed = "; ".join("%s %s (%s)" % (f["label"], f["status"], f["reason"]) for f in failures)
        defaults = (" and %d region default(s)" % (len(regions_report) + len(unknown_regions))
                    if params["account_default"] else "")
        module.fail_json(msg="%d failed (of %d databases%s, target %s): %s" % (
            len(failures), len(results) + len(unknown), defaults, target, listed), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
