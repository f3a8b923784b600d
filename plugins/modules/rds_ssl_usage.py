#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: rds_ssl_usage
short_description: Prove who uses SSL/TLS on RDS databases, whether it is enforced, and which CA each endpoint presents
version_added: 0.1.0
description:
  - Answers "if I rotate the CA, who breaks?" for one database or a list (for example the
    RV(rdsca.rotation.rds_ca_facts#module:databases) list), concurrently; one database failing never stops the others.
  - B(Enforcement.) C(rds.force_ssl) (PostgreSQL, SQL Server) or C(require_secure_transport) (MySQL, MariaDB) from the
    instance's parameter group (the cluster parameter group for Aurora and Multi-AZ DB cluster members) through
    C(DescribeDBParameters), else the engine default (PostgreSQL C(0) before 15, C(1) from 15; C(0) elsewhere), and the
    value the running server reports when credentials are given. SQL Server's pre-login answer also says whether it
    requires encryption.
  - B(Sessions.) With credentials, every client session but the module's own, with user, database, application name,
    client address, SSL/TLS state, TLS version and cipher. PostgreSQL from C(pg_stat_activity) joined with
    C(pg_stat_ssl); MySQL and MariaDB from C(performance_schema.threads) (C(CONNECTION_TYPE) C(SSL/TLS) or C(TCP/IP))
    joined with the processlist. Without performance_schema the processlist still lists sessions, with an unknown TLS
    state, and the server's C(Ssl_finished_accepts) counter still reveals TLS handshakes. Plaintext sessions are listed too.
  - B(Sampling window.) With O(sample_seconds), sessions are listed again every O(sample_interval) seconds and merged
    into distinct sessions and distinct clients (user, address, application), so short-lived clients are caught;
    the result says how long it watched. A single look (the AWS documentation's query) only shows the sessions open at
    that instant.
  - B(Endpoint probe), without credentials. A TCP connection to the endpoint (or O(connect_host)/O(connect_port)), the
    engine's TLS upgrade (PostgreSQL C(SSLRequest), the MySQL handshake, SQL Server's TDS pre-login; direct TLS for
    Oracle and Db2 on the SSL listener port, O(probe_port)) and the certificate the server presents - issuer, the RDS CA
    identifier it belongs to (C(Amazon RDS us-east-1 Root CA RSA2048 G1) is C(rds-ca-rsa2048-g1)), expiry, and whether
    it verifies against O(ca_cert) with hostname checking on the endpoint address.
  - When verification fails, a second handshake without verification reads the certificate so that the result can say
    what was presented. That handshake sends no credentials and no query and is closed right after the TLS handshake;
    it never counts as verified. The module's own database connection always verifies (chain and endpoint name)
    unless O(ssl_mode=disable); O(allow_expired_ca) sets aside the expiry of the listed RDS CA, and nothing else,
    and says so.
  - B(Verdict.) RV(databases[].ssl_in_use) C(yes), C(no) or C(unknown) with the reason, RV(databases[].ssl_enforced),
    the distinct SSL clients, and RV(databases[].safe_without_restart) - whether rotating with
    C(CertificateRotationRestart=false) is safe, which is only the case when SSL/TLS is provably unused over the
    window (at least two samples) and not enforced.
  - B(Connection logs), without credentials (O(log_window_days)). PostgreSQL logs every connection when
    C(log_connections) is on; the module reads the instance's log files of the last O(log_window_days) days through
    C(DescribeDBLogFiles) and C(DownloadDBLogFilePortion) (following markers; a portion RDS truncated at 1 MB is read
    again in smaller blocks), parses the C(connection received) and C(connection authorized) lines with the
    C(log_line_prefix) of the parameter group (RDS's default C(%t:%r:%u@%d:[%p]:) unless set) and lists the distinct
    clients (address, user, database, application, TLS or not, TLS protocol, first and last seen, count). TLS clients
    in the logs make RV(databases[].ssl_in_use=yes); no TLS client in logs that are B(complete) over the window makes
    it C(no) and counts as a window for RV(databases[].safe_without_restart). Logs that cannot prove anything -
    C(log_connections) off in the parameter group, C(rds.log_retention_period) or the files covering less than the
    window (since the instance was created), missing or truncated files - are reported as incomplete in
    RV(databases[].log_evidence), never as "no TLS". The parameter group gives C(log_connections) as it is now, not
    since when; the reload lines of the log (C(parameter "log_connections" changed to ...)) say when it was turned on
    or off, so a window with hours it was off is incomplete too, and "off" says since when.
  - B(MySQL and MariaDB audit logs), without credentials (O(log_window_days)). With the C(MARIADB_AUDIT_PLUGIN) option in
    the instance's option group (read with C(DescribeOptionGroups)) and C(CONNECT) in its C(SERVER_AUDIT_EVENTS),
    the audit files C(audit/server_audit.log*) are read the same way and their C(CONNECT)/C(FAILED_CONNECT) events
    list the distinct clients (address, user, databases, connections, failed logins, first and last seen). The audit
    log does B(not) record whether a connection used TLS, so each client's C(tls) is V(true) only where something
    proves it - C(require_secure_transport=ON), accounts that C(REQUIRE SSL)/C(X509) (C(mysql.user), with
    O(login_user)) or a live session seen with TLS (C(performance_schema)); V(false) only for a client seen in a
    live plaintext session (and only for those sessions); null ("unknown") otherwise. Clients with unknown TLS keep
    RV(databases[].ssl_in_use) where the sessions left it, with the reason; no TLS is proven only when complete
    audit logs show no TCP client at all. No option, C(CONNECT) not audited, users left out of the audit, files
    rotated away (C(SERVER_AUDIT_FILE_ROTATIONS) files of C(SERVER_AUDIT_FILE_ROTATE_SIZE) bytes are kept) make the
    evidence incomplete. C(performance_schema) keeps no TLS history (its C(accounts) table counts connections, not
    their transport), so there is no other record of TLS over days. Aurora MySQL (Advanced Auditing in the cluster
    parameter group) is reported unavailable.
  - Engines without a session query (Oracle, SQL Server, Db2) get enforcement and the probe, and
    RV(databases[].ssl_in_use=unknown) with the reason.
  - Read-only; runs the same in check mode; never reports a change.
  - "API calls per region: one C(DescribeDBInstances) (filtered on the identifiers), one C(DescribeDBClusters) when
    cluster members are listed, and one paginated C(DescribeDBParameters)/C(DescribeDBClusterParameters) per distinct
    parameter group."
author:
  - rdsca.rotation maintainers (@rdsca)
options:
  identifier:
    description:
      - The DB instance identifier of the one database to inspect, in the connection region (O(region)).
      - Mutually exclusive with O(databases).
    type: str
  databases:
    description:
      - The databases to inspect. Items of the RV(rdsca.rotation.rds_ca_facts#module:databases) list returned by
        M(rdsca.rotation.rds_ca_facts) work as they are; other keys are ignored.
      - Each item needs at least C(identifier) and C(region) (the connection region when missing). C(engine),
        C(engine_version), C(endpoint_address) and C(endpoint_port) are taken from the item when present, else from
        C(DescribeDBInstances).
      - Per-database overrides C(connect_host), C(connect_port), C(probe_port) and C(login_db) are honoured
        (for example one tunnel port per database).
      - O(connect_host) and O(connect_port) are not community.postgresql's C(login_host) and C(login_port) - the host
        and port of a login come from the endpoint; these only redirect the TCP connections of the probe and the
        login (a tunnel), while TLS is still verified against the endpoint address.
      - Mutually exclusive with O(identifier).
    type: list
    elements: dict
  login_user:
    description:
      - Database user to list sessions with. Without it, only enforcement and the endpoint probe are reported.
      - PostgreSQL needs C(pg_read_all_stats) (C(pg_monitor), granted to C(rds_superuser)) to see other roles' TLS state;
        MySQL and MariaDB need C(PROCESS) and C(SELECT) on C(performance_schema). Without them
        RV(databases[].ssl_in_use) stays C(unknown) unless SSL sessions are seen.
    type: str
  login_password:
    description:
      - Password of O(login_user). Never logged or returned, and removed from every error message.
      - Mutually exclusive with O(iam_auth=true).
    type: str
  iam_auth:
    description:
      - Log in with an IAM database authentication token generated with boto3 (C(generate_db_auth_token)) for
        O(login_user), instead of a password. Requires IAM database authentication on the instance and TLS.
    type: bool
    default: false
  ca_cert:
    description:
      # The whole description: an option the module sets replaces the fragment's (rdsca.rotation.database_login).
      - PEM file of the CA certificates servers are verified against, for example the RDS global bundle
        (C(https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)) - the database logins and the
        endpoint probes (the certificate each endpoint presents).
      - The same option name in every module of the collection (and in community.postgresql) for "the CA
        certificates a TLS server is verified against".
      - The system trust store when unset.
      - The deprecated alias O(ca_bundle) is the former name of this option.
    type: path
    aliases: [ca_bundle]
  connect_host:
    description:
      - Host (name or IP) the TCP connections go to when it is not the endpoint address, for example C(127.0.0.1)
        with an SSH tunnel or a port forward. TLS is still verified against the endpoint address.
      - Applies to every database unless an item sets its own C(connect_host).
    type: str
  connect_port:
    description:
      - Port the TCP connections go to, when it is not the endpoint port (a tunnel).
      - Applies to every database unless an item sets its own C(connect_port).
    type: int
  probe:
    description:
      - Whether to probe the endpoint's certificate (no credentials needed).
    type: bool
    default: true
  probe_port:
    description:
      - Port of the TLS listener to probe when it is not the endpoint port, for example the Oracle SSL option's
        port (2484 by default).
    type: int
  sample_seconds:
    description:
      - How long to watch sessions. C(0) takes a single snapshot, which cannot prove that SSL/TLS is unused.
    type: float
    default: 0
  sample_interval:
    description:
      - Seconds between two session listings during O(sample_seconds).
    type: float
    default: 1
  exclude_users:
    description:
      - Database users whose sessions are not reported (RDS's own management users by default).
    type: list
    elements: str
    default: [rdsadmin, rdsrepladmin]
  timeout:
    description:
      - Seconds to wait for a TLS handshake, the engine's answer, a login or a query (and for the login's TCP
        connection). A finite number, more than 0, at most 3600 (NaN and infinity are refused, as are
        O(sample_seconds) and O(sample_interval) that are not finite).
    type: float
    default: 10
  connect_timeout:
    description:
      - Seconds the endpoint probe waits for its TCP connection, before any TLS. An endpoint that drops packets
        (a security group or a firewall, a stopped network path) costs this long, not O(timeout).
      - An endpoint the probe could not reach is not logged into (the login would only wait again); its result
        says so in RV(databases[].usage) (its C(reason)) and RV(databases[].error).
      - The default suits endpoints in the same network or a peered VPC (a TCP connection takes milliseconds
        there; 3 s leaves room for two lost SYN packets). Raise it for slow links. More than 0, at most 3600.
    type: float
    default: 3
  concurrency:
    description:
      - How many databases are logged into (and sampled, and have their connection logs read) at the same time;
        each sampling window holds one database connection. At most 256.
      - The one name of the collection for "how many at a time" (as in M(rdsca.rotation.rds_ca_facts) and
        M(rdsca.rotation.rds_ca_rotate)). The deprecated alias O(max_workers) is its former name.
    type: int
    default: 8
    aliases: [max_workers]
  probe_concurrency:
    description:
      - How many endpoints are probed at the same time (a TCP connection and a TLS handshake each, no credentials).
      - A separate pool from O(concurrency), hence a separate name - probes hold no database session and no
        credentials, are cheap, and unreachable endpoints are waited for, so this is larger than O(concurrency);
        the module runs max(O(probe_concurrency), O(concurrency)) threads and never more logins than O(concurrency).
      - At most 256. With C(N) unreachable endpoints the probes take about
        C(N / probe_concurrency * connect_timeout) seconds.
      - The deprecated alias O(probe_workers) is its former name.
    type: int
    default: 64
    aliases: [probe_workers]
  strict:
    description:
      - When V(true), the task fails if any database could not be fully inspected (RV(databases[].error) set), still
        returning every result. When V(false), such databases are reported with a warning.
      - Also when the role of an account of O(accounts) cannot be assumed (before any database is inspected).
        When V(false), that account is in RV(failed_accounts), its databases are not inspected, and the others are.
    type: bool
    default: false
  allow_expired_ca:
    description:
      - "RDS CA identifiers (in practice V(rds-ca-2019)) whose B(expiry alone) may be tolerated, to audit databases
        that still present a certificate of that expired CA and enforce TLS (C(rds.force_ssl=1),
        C(require_secure_transport=ON)): there C(verify-full) fails on the expired chain and a plaintext login is
        refused, so without this option no session can be listed on exactly the databases still to rotate."
      - Everything else is still verified, by OpenSSL, before any credential is sent - the presented chain must
        lead to a CA certificate of O(ca_cert) that is an Amazon RDS CA, and the certificate must name the
        endpoint address. Only then are validity periods set aside, and checked separately - an expired CA
        certificate must be one of the CAs listed here, a server certificate may only have expired with it
        (at most 30 days earlier), nothing may be not yet valid.
      - It applies to a database only when the API says that database is on that CA (C(CACertificateIdentifier)),
        that is, the CA is being rotated away from it; and only after the probe (O(probe=true)) showed that the
        chain verifies but for that expiry.
      - Never silent - such a database reports RV(databases[].tls_verification=verified_except_expiry),
        RV(databases[].tolerated_expiry) and RV(databases[].tls_verification_note), and the task warns, naming it.
      - PostgreSQL logins then go through a loopback relay the module opens on C(127.0.0.1) for that one connection
        (libpq cannot set expiry aside); the TLS session to the server is made and checked before libpq connects.
    type: list
    elements: str
    default: []
  log_window_days:
    description:
      - Days of database connection logs to read as evidence (see B(Connection logs) above); V(0) (the default)
        reads none. At most 31; RDS keeps PostgreSQL logs for C(rds.log_retention_period) minutes (3 days by default,
        7 at most), so a longer window is reported as incomplete.
      - Costs one paginated C(DescribeDBLogFiles) per PostgreSQL database and one C(DownloadDBLogFilePortion) per
        2000 log lines; MySQL and MariaDB (B(MySQL and MariaDB audit logs) above) add one C(DescribeOptionGroups) per
        distinct option group and region.
    type: float
    default: 0
  log_source:
    description:
      - Where O(log_window_days) reads the PostgreSQL connection lines (and the MySQL/MariaDB audit log) from.
      - V(rds) reads the instance's log files through the RDS API (C(DescribeDBLogFiles), C(DownloadDBLogFilePortion)).
      - V(cloudwatch) reads the log RDS exports to CloudWatch Logs (C(EnabledCloudwatchLogsExports) holds
        C(postgresql)) with C(FilterLogEvents) on the log group C(/aws/rds/instance/<id>/postgresql) (Aurora
        C(/aws/rds/cluster/<cluster>/postgresql)), log stream the instance, following C(nextToken). RDS publishes each
        log line, prefix included, so the same C(log_line_prefix) parser is used. The group's C(retentionInDays)
        (not C(rds.log_retention_period)) bounds what can be read; a retention shorter than the window, a missing
        group or an instance that does not export its log make the evidence incomplete, never "no TLS".
      - MySQL and MariaDB - V(cloudwatch) reads the C(audit) export (C(/aws/rds/instance/<id>/audit), log stream the
        instance) with the same audit parser; the group's C(retentionInDays) bounds it instead of the rotations.
      - V(auto) uses CloudWatch Logs for instances whose C(EnabledCloudwatchLogsExports) holds C(postgresql) (MySQL
        and MariaDB - C(audit)), the RDS API for the others.
    type: str
    choices: [rds, cloudwatch, auto]
    default: rds
notes:
  - Needs C(psycopg2) for PostgreSQL sessions and C(PyMySQL) (1.0 or later) for MySQL and MariaDB sessions, only when
    O(login_user) is set. C(cryptography), when installed, adds key type and signature details to certificates.
  - Python 3.13 and later report the full chain the server presented; earlier versions report the leaf and its
    issuer (and the chain when the interpreter exposes it), and the CA identifier comes from the issuer names.
  - With MySQL and MariaDB the counter C(Ssl_finished_accepts) is read before and after the window; a rise means
    TLS clients connected, even between two samples.
  - "Scale: probes run O(probe_concurrency) at a time, each waiting at most O(connect_timeout) for its TCP connection,
    and an endpoint that cannot be reached is not logged into; logins and sampling windows run O(concurrency) at a
    time. Ansible shows nothing while a module runs: for progress over thousands of databases, loop the task over
    slices of O(databases) (the C(batch) filter) and merge the registered result with the
    P(rdsca.rotation.ssl_usage_merge#filter) filter (see the examples)."
  - "IAM permissions: C(rds:DescribeDBInstances), and as used C(rds:DescribeDBParameters),
    C(rds:DescribeDBClusters), C(rds:DescribeDBClusterParameters); with O(log_window_days), C(rds:DescribeDBLogFiles)
    and C(rds:DownloadDBLogFilePortion) (O(log_source=cloudwatch) or O(log_source=auto): C(logs:DescribeLogGroups)
    and C(logs:FilterLogEvents), the latter can be limited to the C(/aws/rds/*) log groups), and for MySQL/MariaDB
    C(rds:DescribeOptionGroups); with O(iam_auth), C(rds-db:connect) for
    O(login_user) (the login, not an API call)."
  - "IAM permissions with O(accounts) or O(organization): C(sts:AssumeRole) on each account's role (the module's own
    credentials), C(organizations:ListAccounts) for O(organization), and in each account C(iam:ListAccountAliases)
    (optional) besides the permissions above; each role trusts the module's principal (C(docs/iam-trust-policy.json))."
seealso:
  - module: rdsca.rotation.rds_ca_facts
extends_documentation_fragment:
  - rdsca.rotation.attributes
  - rdsca.rotation.attributes.INFO_MODULE
  - rdsca.rotation.attributes.AWS_PLATFORM
  - rdsca.rotation.attributes.ACTION_GROUP
  - rdsca.rotation.database_login
  - rdsca.rotation.aws
  - rdsca.rotation.accounts
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Who would break? Watch every database for two minutes
  rdsca.rotation.rds_ssl_usage:
    databases: "{{ inventory.databases }}"
    login_user: monitor
    login_password: "{{ vault_monitor_password }}"
    ca_cert: /etc/pki/rds/global-bundle.pem
    sample_seconds: 120
    sample_interval: 2
  register: usage

- name: Databases that can be rotated without a restart
  ansible.builtin.debug:
    msg: "{{ usage.databases | selectattr('safe_without_restart') | map(attribute='identifier') | list }}"

- name: Which CA does each endpoint present? No credentials needed
  rdsca.rotation.rds_ssl_usage:
    databases: "{{ inventory.databases }}"
    ca_cert: /etc/pki/rds/global-bundle.pem

- name: One database through an SSH tunnel on localhost:15432, IAM authentication
  rdsca.rotation.rds_ssl_usage:
    identifier: orders-production
    region: eu-west-1
    connect_host: 127.0.0.1
    connect_port: 15432
    login_user: iam_monitor
    iam_auth: true
    ca_cert: /etc/pki/rds/eu-west-1-bundle.pem
    sample_seconds: 30
    strict: true

- name: Thousands of databases, 200 at a time, one line of output per slice (progress)
  rdsca.rotation.rds_ssl_usage:
    databases: "{{ item }}"
    ca_cert: /etc/pki/rds/global-bundle.pem
    connect_timeout: 3
    probe_concurrency: 64
  loop: "{{ inventory.databases | batch(200) | list }}"
  loop_control:
    extended: true
    label: "slice {{ ansible_loop.index }}/{{ ansible_loop.length }} ({{ item | length }} databases)"
  register: usage_slices

- name: One result over every slice, as a single call returns it
  ansible.builtin.set_fact:
    usage: "{{ usage_slices | rdsca.rotation.ssl_usage_merge }}"

- name: Who used TLS over the last three days? From the connection logs, without a database login
  rdsca.rotation.rds_ssl_usage:
    databases: "{{ inventory.databases }}"
    ca_cert: /etc/pki/rds/global-bundle.pem
    log_window_days: 3
  register: log_usage

- name: Databases whose log evidence is incomplete (log_connections off, no audit plugin, short retention...)
  ansible.builtin.debug:
    msg: "{{ log_usage.databases | rejectattr('log_evidence.complete') | map(attribute='identifier') | list }}"

- name: A month of evidence from the logs exported to CloudWatch Logs (RDS API files for the others)
  rdsca.rotation.rds_ssl_usage:
    databases: "{{ inventory.databases }}"
    probe: false
    log_window_days: 30
    log_source: auto
  register: cloudwatch_usage
"""

RETURN = r"""
databases:
  description: One entry per database, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    identifier:
      description: DB instance identifier.
      type: str
      sample: orders-production
    region:
      description: Region of the database.
      type: str
      sample: us-east-1
    account:
      description:
        - The 12-digit account of the database (with O(accounts), the one of its item, label or ARN; else the one
          in its ARN, null when it was not described).
      type: str
      sample: "123456789012"
    account_alias:
      description: The account's alias with O(accounts) (given, else its IAM alias when readable), else null.
      type: str
      sample: shop-prod
    label:
      description: C(region/identifier), or C(account/region/identifier) with O(accounts) or O(organization).
      type: str
      sample: us-east-1/orders-production
    engine:
      description: Engine, from the item or C(DescribeDBInstances).
      type: str
      sample: postgres
    engine_version:
      description: Engine version.
      type: str
      sample: "16.3"
    status:
      description: Instance status from C(DescribeDBInstances).
      type: str
      sample: available
    endpoint_address:
      description: Endpoint address, the TLS server name verified.
      type: str
      sample: orders-production.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com
    endpoint_port:
      description: Endpoint port.
      type: int
      sample: 5432
    connect_host:
      description: Where the TCP connections went.
      type: str
      sample: 127.0.0.1
    connect_port:
      description: Port the TCP connections went to.
      type: int
      sample: 15432
    current_ca:
      description: CA identifier the API reports for the instance.
      type: str
      sample: rds-ca-rsa2048-g1
    enforcement:
      description: Whether SSL/TLS is enforced, and where that comes from.
      type: dict
      contains:
        parameter:
          description: C(rds.force_ssl) or C(require_secure_transport); null for engines without one.
          type: str
        parameter_group:
          description: The (cluster) parameter group looked up.
          type: str
        parameter_group_type:
          description: C(instance) or C(cluster).
          type: str
        parameter_apply_status:
          description: The instance's C(ParameterApplyStatus) (C(pending-reboot) means the group is not applied yet).
          type: str
        parameter_source:
          description: C(Source) of the parameter in the group (C(user), C(system), C(engine-default)).
          type: str
        api_value:
          description: The value from the parameter group, or the engine default when the group does not list it.
          type: str
          sample: "1"
        api_source:
          description: C(parameter_group) or C(engine_default).
          type: str
        engine_default:
          description: The engine default for this engine version.
          type: str
          sample: "0"
        live_value:
          description: The value the running server reports (needs credentials).
          type: str
        live_error:
          description: Why the live value could not be read.
          type: str
        enforced:
          description: C(true), C(false) or C(unknown).
          type: raw
        enforced_by:
          description: What decided - C(live), C(parameter_group), C(engine_default) or C(tds_prelogin).
          type: str
        note:
          description: Inconsistencies worth knowing, for example plaintext sessions on a server whose parameter group enforces TLS.
          type: str
        error:
          description: Why the parameter group could not be read.
          type: str
    probe:
      description:
        - What the endpoint presented; null when O(probe=false) or the endpoint is unknown.
        - "Keys: C(server_name), C(connect_host), C(connect_port), C(protocol), C(trust_store), C(reachable),
          C(tls_supported), C(tls_version), C(cipher), C(certificate) (subject, subject_cn, issuer, issuer_cn,
          serial_number, not_before, not_after, days_left, expired, dns_names, ip_addresses, sha256_fingerprint,
          public_key, signature_hash), C(chain) (the rest of the presented chain when Python exposes it),
          C(presented_ca), C(presented_ca_region), C(verified), C(verify_error), C(verify_code),
          C(hostname_matches), C(trust_anchor), C(read_by) (C(verified_handshake) or C(diagnostic_handshake)),
          C(server_version), C(server_requires_tls) (SQL Server), C(verified_except_expiry),
          C(tolerated_expiry), C(tolerance_error) (with O(allow_expired_ca)), C(error), C(elapsed_ms)."
      type: dict
      sample:
        presented_ca: rds-ca-rsa2048-g1
        presented_ca_region: us-east-1
        verified: true
        tls_version: TLSv1.3
        certificate:
          issuer_cn: Amazon RDS us-east-1 Root CA RSA2048 G1
          not_after: "2027-11-28T15:47:17+00:00"
    usage:
      description:
        - How sessions were listed. C(available) false with C(reason) when they were not (no credentials, engine
          without session query, connection failure, an endpoint the probe could not reach - then no login is tried).
        - C(counts) by transport (C(ssl), C(tcp), C(local), C(unknown)), C(complete_visibility),
          C(visibility_note), C(ssl_handshakes_during_window) (MySQL/MariaDB counter rise), C(performance_schema).
      type: dict
    window:
      description: How long sessions were watched.
      type: dict
      contains:
        requested_seconds:
          description: O(sample_seconds).
          type: float
        interval:
          description: O(sample_interval).
          type: float
        seconds:
          description: Seconds actually watched, first to last sample.
          type: float
        samples:
          description: Number of session listings.
          type: int
        started:
          description: When the first listing started (ISO 8601).
          type: str
        ended:
          description: When the last listing ended (ISO 8601).
          type: str
    sessions:
      description:
        - Every distinct session seen during the window (at most 2000), SSL and plaintext.
        - "Keys: C(id), C(user), C(database), C(application_name), C(client_address), C(client_port),
          C(transport) (C(ssl), C(tcp), C(local), C(unknown)), C(ssl), C(tls_version), C(cipher), C(backend_type),
          C(connected_at), C(state), C(client_library), C(first_seen), C(last_seen), C(samples)."
      type: list
      elements: dict
    sessions_truncated:
      description: More than 2000 distinct sessions were seen; the counts still include all.
      type: bool
    clients:
      description:
        - Distinct clients (user, client address, application name) with their session counts by transport
          (C(ssl_sessions), C(non_ssl_sessions), C(unknown_sessions)), C(databases), C(tls_versions), C(ciphers),
          C(uses_ssl), C(uses_plaintext), C(first_seen), C(last_seen). Local (socket) sessions are not clients.
      type: list
      elements: dict
    ssl_clients:
      description: The RV(databases[].clients) that used SSL/TLS.
      type: list
      elements: dict
    tls_verification:
      description:
        - How the presented certificate verified - C(verified), C(failed), or C(verified_except_expiry) (only the
          expiry of an RDS CA listed in O(allow_expired_ca) and being rotated away was tolerated); null without a
          probe.
      type: str
      sample: verified_except_expiry
    tolerated_expiry:
      description: With C(verified_except_expiry) - the expired CA certificates tolerated (C(ca_identifier), C(common_name), C(not_after)).
      type: list
      elements: dict
    tls_verification_note:
      description:
        - With C(verified_except_expiry) - what was verified and what was tolerated, in words (also a warning).
        - With C(failed) when the endpoint presents an B(expired) chain of the CA the database is on
          (C(CACertificateIdentifier), the CA a rotation replaces; rds-ca-2019 since August 2024) - why no trust store
          can verify it before the rotation. That is a finding about the database, not an RV(databases[].error), unless
          O(login_user) was given (the sessions could not be listed) or O(allow_expired_ca) failed to apply.
      type: str
    ssl_in_use:
      description: C(yes), C(no) (over the window) or C(unknown).
      type: str
      sample: "yes"
    ssl_in_use_reason:
      description: The evidence behind RV(databases[].ssl_in_use).
      type: str
      sample: 3 SSL/TLS session(s) from 2 distinct client(s) seen over 30.0s (31 samples)
    ssl_enforced:
      description: C(true), C(false) or C(unknown) (RV(databases[].enforcement.enforced)).
      type: raw
      sample: false
    safe_without_restart:
      description: Whether rotating the CA with C(CertificateRotationRestart=false) is safe.
      type: bool
    safe_without_restart_reason:
      description: Why, or why not.
      type: str
    log_evidence:
      description:
        - Connection-log evidence over O(log_window_days), next to the verdicts it fed. Absent when
          O(log_window_days=0).
      returned: when O(log_window_days) is more than 0
      type: dict
      contains:
        available:
          description: Whether logs could be read for this engine (PostgreSQL connection logs, MySQL/MariaDB audit
            logs; false for other engines).
          type: bool
        reason:
          description: Why the evidence is unavailable or incomplete; null when complete.
          type: str
        errors:
          description: API failures while reading the logs (also in RV(databases[].errors)).
          type: list
          elements: str
        source:
          description: The API calls the evidence comes from.
          type: str
        window_days:
          description: O(log_window_days).
          type: float
        window_start:
          description: Start of the window (ISO 8601, UTC).
          type: str
        window_end:
          description: End of the window, when the logs were read.
          type: str
        needed_from:
          description: From when logs are needed (the window start, or the instance creation time when later).
          type: str
        covered_from:
          description: From when the log files read cover the window (the hour of the oldest file).
          type: str
        complete:
          description: Whether the logs prove every connection of the window (log_connections on, files covering it,
            none missing or truncated).
          type: bool
        incomplete_reasons:
          description: Each reason the evidence is incomplete.
          type: list
          elements: str
        log_connections:
          description: C(log_connections) in the parameter group (null when the group leaves PostgreSQL's default, off).
          type: str
        log_line_prefix:
          description: The C(log_line_prefix) the lines were parsed with.
          type: str
          sample: "%t:%r:%u@%d:[%p]:"
        files:
          description: Log files read (empty when the lines came from CloudWatch Logs).
          type: list
          elements: str
          sample: [error/postgresql.log.2026-12-01-10]
        log_group:
          description: The CloudWatch Logs log group read (O(log_source=cloudwatch), or O(log_source=auto) for an
            instance that exports its log).
          type: str
          returned: when the lines came from CloudWatch Logs
          sample: /aws/rds/instance/orders-db/postgresql
        log_stream:
          description: The log stream read (the instance identifier).
          type: str
          returned: when the lines came from CloudWatch Logs
        retention_days:
          description: The log group's C(retentionInDays) (null when its events never expire).
          type: int
          returned: when the lines came from CloudWatch Logs
        connections:
          description: Connections logged in the window (excluded users left out).
          type: int
        tls_clients:
          description: Distinct clients that connected with TLS.
          type: int
        plaintext_clients:
          description: Distinct clients that connected without TLS (MySQL/MariaDB - seen in a live plaintext session).
          type: int
        tls_unknown_clients:
          description: MySQL/MariaDB - distinct clients that connected over TCP whose TLS use over the window is not
            proven (the audit log does not record TLS).
          type: int
          returned: for MySQL and MariaDB
        failed_connections:
          description: MySQL/MariaDB - failed logins (C(FAILED_CONNECT)) in the window.
          type: int
          returned: for MySQL and MariaDB
        audit:
          description: MySQL/MariaDB - the C(MARIADB_AUDIT_PLUGIN) option as the option group shows it.
          type: dict
          returned: for MySQL and MariaDB
          sample: {option_group: maria-audit, status: in-sync, enabled: true, events: [CONNECT], rotations: 9,
                   rotate_size: 1000000}
        limits:
          description: MySQL/MariaDB - what the audit log cannot prove (TLS), and what proves TLS instead.
          type: str
          returned: for MySQL and MariaDB
        notes:
          description: MySQL/MariaDB - caveats that do not make the evidence incomplete (the option group shows the
            option as it is now, not since when).
          type: list
          elements: str
          returned: for MySQL and MariaDB
        clients:
          description: Distinct clients, TLS ones first.
          type: list
          elements: dict
          contains:
            address:
              description: Client address (null when the prefix and the log show none).
              type: str
            user:
              description: Database user.
              type: str
            database:
              description: Database (null for physical replication).
              type: str
            application:
              description: C(application_name) (PostgreSQL 14 and later log it).
              type: str
            tls:
              description:
                - Whether the connection used TLS (PostgreSQL - C(SSL enabled)).
                - MySQL/MariaDB - V(true) when proven, V(false) when a live session was plaintext, null (unknown)
                  otherwise; never V(false) from the audit log alone.
              type: bool
            tls_proof:
              description: MySQL/MariaDB - what proves C(tls) - C(enforced) (C(require_secure_transport=ON)),
                C(account) (every account of the user REQUIREs SSL/X509), C(sessions) (live sessions), or null.
              type: str
              returned: for MySQL and MariaDB
            tls_basis:
              description: MySQL/MariaDB - the same in words.
              type: str
              returned: for MySQL and MariaDB
            databases:
              description: MySQL/MariaDB - databases named at connection.
              type: list
              elements: str
              returned: for MySQL and MariaDB
            failed:
              description: MySQL/MariaDB - failed logins of this client in the window.
              type: int
              returned: for MySQL and MariaDB
            local:
              description: MySQL/MariaDB - a local (socket) client; TLS does not apply.
              type: bool
              returned: for MySQL and MariaDB
            protocol:
              description: TLS protocol version.
              type: str
              sample: TLSv1.3
            cipher:
              description: TLS cipher.
              type: str
            replication:
              description: Whether it was a replication connection.
              type: bool
            first_seen:
              description: First connection in the window (ISO 8601, UTC; null without a time in the prefix).
              type: str
            last_seen:
              description: Last connection in the window.
              type: str
            count:
              description: Connections in the window.
              type: int
    errors:
      description: Everything that went wrong for this database (passwords removed).
      type: list
      elements: str
    error:
      description: RV(databases[].errors) joined, null when the database was fully inspected.
      type: str
summary:
  description:
    - Totals over all databases.
    - With O(log_window_days), also C(log_evidence) - how many databases have complete, incomplete and unavailable
      log evidence.
  returned: always
  type: dict
  contains:
    by_account:
      description:
        - The same totals per account (RV(databases[].account); C(unknown) for a database whose account is not
          known), as M(rdsca.rotation.rds_ca_facts) counts databases per account (its C(summary.by_account)). The
          accounts in RV(failed_accounts) are not counted - their databases were not inspected.
      type: dict
      sample: {"123456789012": {databases: 2, errors: 0, ssl_in_use: {"yes": 1, "no": 1, "unknown": 0}}}
  sample:
    databases: 3
    errors: 0
    ssl_in_use: {"yes": 1, "no": 1, "unknown": 1}
    ssl_enforced: {enforced: 1, not_enforced: 2, unknown: 0}
    safe_without_restart: 1
    ssl_clients: 2
    presented_ca: {rds-ca-rsa2048-g1: 3}
    probe_verified: {verified: 3, failed: 0, not_checked: 0}
    by_account: {"123456789012": {databases: 3, errors: 0}}
accounts:
  description: The accounts whose role was assumed (with O(accounts) or O(organization)) - C(account), C(role_arn), C(alias).
  returned: when O(accounts) or O(organization) is set
  type: list
  elements: dict
failed_accounts:
  description:
    - The accounts whose role could not be assumed - C(account), C(role_arn), C(error_code), C(message). Their
      databases were not inspected (unknown). Empty without O(accounts).
  returned: always
  type: list
  elements: dict
api_calls:
  description: AWS API requests sent, per region (C(account/region) in another account) and operation (retries included).
  returned: always
  type: dict
  sample: {us-east-1: {DescribeDBInstances: 1, DescribeDBParameters: 2}}
"""

import os
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.rdsca.rotation.plugins.module_utils import accounts as accounts_lib
from ansible_collections.rdsca.rotation.plugins.module_utils import aws as aws_utils
from ansible_collections.rdsca.rotation.plugins.module_utils import cloudwatch_log
from ansible_collections.rdsca.rotation.plugins.module_utils import mysql_audit_log
from ansible_collections.rdsca.rotation.plugins.module_utils import pg_connection_log
from ansible_collections.rdsca.rotation.plugins.module_utils import rds_api
from ansible_collections.rdsca.rotation.plugins.module_utils import rds_domain
from ansible_collections.rdsca.rotation.plugins.module_utils import ssl_usage
from ansible_collections.rdsca.rotation.plugins.module_utils.numbers import check_numbers
from ansible_collections.rdsca.rotation.plugins.module_utils.option_names import deprecated
from ansible_collections.rdsca.rotation.plugins.module_utils.option_names import number_view
from ansible_collections.rdsca.rotation.plugins.module_utils.option_names import renamed_names

# The ranges of numbers.RULES that the renamed options keep (option_names.py).
NUMBER_RULES = {"concurrency": "max_workers", "probe_concurrency": "probe_workers"}


def argument_spec():
    return dict(
        identifier=dict(type="str"),
        databases=dict(type="list", elements="dict"),
        login_user=dict(type="str"),
        login_password=dict(type="str", no_log=True),
        login_db=dict(type="str"),
        iam_auth=dict(type="bool", default=False),
        ssl_mode=dict(type="str", choices=list(ssl_usage.SSL_MODES), default="verify-full"),
        ca_cert=dict(type="path", aliases=["ca_bundle"], deprecated_aliases=[deprecated("ca_bundle")]),
        connect_host=dict(type="str"),
        connect_port=dict(type="int"),
        probe=dict(type="bool", default=True),
        probe_port=dict(type="int"),
        sample_seconds=dict(type="float", default=0),
        sample_interval=dict(type="float", default=1),
        exclude_users=dict(type="list", elements="str", default=list(ssl_usage.DEFAULT_EXCLUDE_USERS)),
        timeout=dict(type="float", default=10),
        connect_timeout=dict(type="float", default=3),
        concurrency=dict(type="int", default=8, aliases=["max_workers"], deprecated_aliases=[deprecated("max_workers")]),
        probe_concurrency=dict(type="int", default=64, aliases=["probe_workers"],
                               deprecated_aliases=[deprecated("probe_workers")]),
        strict=dict(type="bool", default=False),
        allow_expired_ca=dict(type="list", elements="str", default=[]),
        log_window_days=dict(type="float", default=0),
        log_source=dict(type="str", choices=list(cloudwatch_log.SOURCES), default="rds"),
        **accounts_lib.accounts_argument_spec()
    )


def check_options(module):
    params = module.params
    # Every number: finite, in range (plugins/module_utils/numbers.py, shared by every module).
    values, labels = number_view(params, NUMBER_RULES)
    problems = check_numbers(values, renamed_names(["sample_seconds", "sample_interval", "timeout", "connect_timeout",
                                                    "concurrency", "probe_concurrency", "connect_port", "probe_port",
                                                    "log_window_days"], NUMBER_RULES), labels=labels)
    if params["iam_auth"] and not params["login_user"]:
        problems.append("iam_auth needs login_user (the database user the token is for)")
    if params["iam_auth"] and params["ssl_mode"] == "disable":
        problems.append("iam_auth needs TLS: RDS refuses IAM authentication tokens over plaintext (ssl_mode=disable)")
    if params["login_password"] and not params["login_user"]:
        problems.append("login_password is set but login_user is not")
    known_cas = rds_domain.KNOWN_CAS
    for ca in params["allow_expired_ca"] or []:
        if ca not in known_cas:
            problems.append("allow_expired_ca: %r is not an RDS CA identifier (one of %s)" % (ca, ", ".join(known_cas)))
    if params["allow_expired_ca"] and params["ssl_mode"] == "disable":
        problems.append("allow_expired_ca applies to verified TLS connections; it cannot be used with ssl_mode=disable")
    if params["ca_cert"] and not os.path.isfile(params["ca_cert"]):
        problems.append("ca_cert %s is not a file" % params["ca_cert"])
    problems += accounts_lib.check_accounts(params)
    if problems:
        module.fail_json(msg="Invalid options: %s" % "; ".join(problems))


def build_targets(module):
    """Normalised targets, deduplicated on (region, identifier), in the order given."""
    default_region = module.region
    if module.params["identifier"] is not None:
        if not default_region:
            module.fail_json(msg="identifier needs the connection region: set region (or AWS_REGION)")
        items = [{"identifier": module.params["identifier"]}]
    else:
        items = module.params["databases"] or []
    targets, seen, problems = [], set(), []
    named = accounts_lib.uses_accounts(module.params)
    for index, item in enumerate(items):
        try:
            target = ssl_usage.normalize_target(item, default_region)
        except ValueError as exc:
            problems.append("databases[%d]: %s" % (index, exc))
            continue
        problem = assign_account(module.params, target, item) if named else None
        if problem:
            problems.append("databases[%d]: %s" % (index, problem))
            continue
        key = (target.get("account"), target["region"], target["identifier"].lower())
        if key in seen:
            aws_utils.warn(module, "%s in %s is listed more than once; inspected once" % (target["identifier"], target["region"]))
            continue
        seen.add(key)
        targets.append(target)
    if problems:
        module.fail_json(msg="Invalid databases: %s" % "; ".join(problems))
    region_problems = aws_utils.validate_regions(sorted(set(t["region"] for t in targets)))
    if region_problems:
        module.fail_json(msg="Invalid regions: %s" % "; ".join(region_problems))
    return targets


def assign_account(params, target, item):
    """With named accounts: the target's ``account`` (its item's or ARN's, or the one account listed,
    accounts.entry_account); a problem or None."""
    account, problem = accounts_lib.entry_account(params, item.get("account") or accounts_lib.account_of_arn(item.get("arn")),
                                                  target["identifier"])
    if problem is None:
        target["account"] = account
    return problem


def client_of(clients, service, target):
    """The client of ``target``'s region, in its named account (``scope_account``) or the module's own."""
    account = target.get("scope_account")
    return clients.get(service, target["region"], account=account) if account else clients.get(service, target["region"])


def describe(module, clients, targets):
    """DescribeDBInstances & co. for every region (of every named account), in parallel."""
    by_region = {}
    for target in targets:
        by_region.setdefault((target.get("scope_account") or "", target["region"]), []).append(target)
    for account, region in sorted(by_region):
        clients.prepare("rds", [region], **({"account": account} if account else {}))
    with ThreadPoolExecutor(max_workers=max(1, min(len(by_region), module.params["concurrency"]))) as pool:
        futures = [pool.submit(ssl_usage.describe_targets, client_of(clients, "rds", region_targets[0]), region_targets)
                   for _where, region_targets in sorted(by_region.items())]
        for future in futures:
            future.result()


def check_drivers(module, targets):
    if not module.params["login_user"]:
        return
    kinds = set(ssl_usage.usage_kind(t.get("engine")) for t in targets)
    if "postgres" in kinds and not ssl_usage.HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2 (or psycopg2-binary)",
                                                  reason="to list PostgreSQL sessions"))
    if "mysql" in kinds and not ssl_usage.HAS_PYMYSQL:
        module.fail_json(msg=missing_required_lib("PyMySQL", reason="to list MySQL and MariaDB sessions"))


def token_provider(module, clients, target):
    """A function making a fresh IAM authentication token when the worker is about to log in.

    Made in the worker, not up front: a token is valid for 15 minutes, and with many databases and long
    sampling windows a database may wait longer than that for a free worker.
    """
    client = client_of(clients, "rds", target)
    user = module.params["login_user"]

    def provide(host, port):
        token = client.generate_db_auth_token(DBHostname=host, Port=int(port), DBUsername=user, Region=target["region"])
        module.no_log_values.add(token)
        return token
    return provide


def settings_for(module, clients, target):
    """The per-database settings of inspect_database."""
    params = module.params
    settings = dict(
        login_user=params["login_user"], password=params["login_password"], login_db=params["login_db"],
        ssl_mode=params["ssl_mode"], ca_bundle=params["ca_cert"], connect_host=params["connect_host"],
        connect_port=params["connect_port"], probe=params["probe"], probe_port=params["probe_port"],
        sample_seconds=params["sample_seconds"], sample_interval=params["sample_interval"],
        timeout=params["timeout"], connect_timeout=params["connect_timeout"], exclude_users=params["exclude_users"],
        allow_expired_ca=params["allow_expired_ca"],
    )
    if params["iam_auth"]:
        settings["password_provider"] = token_provider(module, clients, target)
    return settings


def log_settings_for(target):
    """The logging parameters of the parameter group describe_targets read, or why there are none."""
    group = target.get("enforcement_group")
    if target.get("aws_error"):
        return {"error": target["aws_error"], "group": group and group.get("name")}
    if not group or target.get("group_parameters") is None:
        return {"error": "no parameter group was read", "group": None}
    return pg_connection_log.log_settings(target["group_parameters"], group.get("name"))


def inspect_one(module, clients, target, settings):
    """inspect_database, then (log_window_days) the connection-log evidence folded into the verdicts.

    The log reading takes one of the O(concurrency) slots of the logins (settings["login_slots"]), so that the
    larger pool of the probes never multiplies the AWS calls in flight.
    """
    result = ssl_usage.inspect_database(target, settings)
    days = module.params["log_window_days"]
    if not days:
        return result
    aws = {"call": aws_utils.call, "paginate": aws_utils.paginate, "errors": aws_utils.AWS_ERRORS,
           "error_info": aws_utils.error_info}
    mysql = ssl_usage.usage_kind(target.get("engine")) == "mysql"
    gather, service, log_settings = pg_connection_log.gather_evidence, "rds", None
    if mysql:
        gather, log_settings = mysql_audit_log.gather_evidence, target.get("audit_settings") or \
            mysql_audit_log.audit_settings(None, None, target.get("aws_error"))
        if uses_logs_service(module, target):
            gather, service = mysql_audit_log.gather_cloudwatch_evidence, "logs"
    elif uses_logs_service(module, target):
        gather, service = cloudwatch_log.gather_evidence, "logs"
    with settings["login_slots"]:
        evidence = gather(aws, client_of(clients, service, target), target, log_settings or log_settings_for(target),
                          days, aws_utils.utcnow(), module.params["exclude_users"])
    if mysql:
        mysql_audit_log.attribute_tls(evidence, result.get("ssl_enforced"), (result.get("enforcement") or {}).get(
            "enforced_by"), (result.get("usage") or {}).get("account_ssl_types"), result.get("sessions"))
    return ssl_usage.apply_log_evidence(result, evidence)


def uses_logs_service(module, target):
    """Whether the target's log evidence comes from CloudWatch Logs (PostgreSQL's or the MySQL/MariaDB audit export)."""
    if ssl_usage.usage_kind(target.get("engine")) == "mysql" and not str(target.get("engine")).startswith("aurora"):
        return mysql_audit_log.use_cloudwatch(module.params["log_source"], target)
    return cloudwatch_log.use_cloudwatch(module.params["log_source"], target)


def read_audit_options(module, clients, targets):
    """The MARIADB_AUDIT_PLUGIN settings of each MySQL/MariaDB target's option group (target["audit_settings"]):
    one DescribeOptionGroups per distinct option group, region and account."""
    wanted = {}
    for target in targets:
        if ssl_usage.usage_kind(target.get("engine")) != "mysql" or target.get("aws_error") or \
                str(target.get("engine")).startswith("aurora"):
            continue
        membership = (target.get("option_groups") or [None])[0]
        if membership is None or not membership.get("OptionGroupName"):
            target["audit_settings"] = mysql_audit_log.audit_settings(None, membership)
            continue
        wanted.setdefault((target.get("scope_account") or "", target["region"], membership["OptionGroupName"]), []).append(
            (target, membership))
    for (_account, _region, name), users in sorted(wanted.items(), key=lambda pair: pair[0]):
        group, error = None, None
        try:
            found = rds_api.describe_option_groups(client_of(clients, "rds", users[0][0]), name)
            group = next((g for g in found if g.get("OptionGroupName") == name), None)
        except rds_api.AWS_ERRORS as exc:  # pylint: disable=catching-non-exception
            info = rds_api.error_info(exc)
            error = "DescribeOptionGroups(%s) failed: %s: %s" % (name, info["error_code"], info["message"])
        for target, membership in users:
            target["audit_settings"] = mysql_audit_log.audit_settings(group, membership, error)


def main():
    module = AnsibleAWSModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[("identifier", "databases"), ("login_password", "iam_auth")],
        required_one_of=[("identifier", "databases")],
    )
    check_options(module)
    if module.params["ssl_mode"] == "disable":
        aws_utils.warn(module, "ssl_mode=disable: the module's database connections are NOT encrypted and the server "
                               "is NOT authenticated; login_password and the session list travel in clear. Use it only "
                               "for servers that do not offer TLS, over a trusted network.")
    targets = build_targets(module)
    clients = aws_utils.RegionClients(module)
    # Named accounts (issue 17): the roles of the accounts the databases are in, each assumed once; the databases
    # of an account whose role cannot be assumed are unknown (failed_accounts), the others are inspected.
    named = accounts_lib.uses_accounts(module.params)
    accounts, failed_accounts = [], []
    if named and targets:
        accounts, failed_accounts = accounts_lib.resolve_accounts(
            module, clients, module.params, module.region or targets[0]["region"],
            concurrency=module.params["concurrency"], only=set(t["account"] for t in targets))
        aliases = dict((a["account"], a["alias"]) for a in accounts)
        unresolved = set(t["account"] for t in targets) - set(aliases) - set(f["account"] for f in failed_accounts)
        if unresolved:
            module.fail_json(msg="account(s) %s are not among the organization's accounts (organization "
                                 "include/exclude)" % ", ".join(sorted(unresolved)))
        if failed_accounts and module.params["strict"]:
            module.fail_json(msg="Could not assume the role of %d account(s): %s" % (
                len(failed_accounts), accounts_lib.describe_failed(failed_accounts)), failed_accounts=failed_accounts,
                api_calls=clients.counter.snapshot())
        targets = [t for t in targets if t["account"] in aliases]
        for target in targets:
            target["scope_account"] = target["account"]
            target["account_alias"] = aliases[target["account"]]
    if targets:
        describe(module, clients, targets)
    check_drivers(module, targets)

    # Clients are made in the main thread.
    for target in targets:
        if module.params["iam_auth"]:
            client_of(clients, "rds", target)
        if module.params["log_window_days"] and module.params["log_source"] != "rds" and uses_logs_service(module, target):
            client_of(clients, "logs", target)
    if module.params["log_window_days"]:
        read_audit_options(module, clients, targets)
    # Probes (cheap, and slow only when an endpoint does not answer) run probe_concurrency at a time; logins,
    # sampling windows and log reading at most concurrency at a time (ssl_usage.inspect_all).
    work = [(target, settings_for(module, clients, target)) for target in targets]

    def inspect(item, login_slots):
        target, settings = item
        return inspect_one(module, clients, target, dict(settings, login_slots=login_slots))
    results = ssl_usage.inspect_all(work, inspect, module.params["concurrency"], module.params["probe_concurrency"])
    for target, item in zip(targets, results):
        # The account: the named one, else the one in the instance's ARN (the module's own credentials).
        item["account"] = target.get("scope_account") or accounts_lib.account_of_arn(target.get("arn"))
        item["account_alias"] = target.get("account_alias")
        item["label"] = rds_domain.db_label(item["region"], item["identifier"], target.get("scope_account"))

    for item in results:
        if item.get("tls_verification") == "verified_except_expiry":
            aws_utils.warn(module, "%s (%s): %s" % (item["identifier"], item["region"], item["tls_verification_note"]))
    summary = ssl_usage.summarize(results)
    failed = [r for r in results if r.get("error")]
    output = dict(changed=False, databases=results, summary=summary, failed_accounts=failed_accounts,
                  api_calls=clients.counter.snapshot())
    if named:
        output["accounts"] = accounts
    if failed_accounts:
        aws_utils.warn(module, "Could not assume the role of %d account(s), reported in failed_accounts (their "
                               "databases are unknown, not inspected): %s" % (
                                   len(failed_accounts), accounts_lib.describe_failed(failed_accounts)))
    if failed:
        message = "%d of %d database(s) could not be fully inspected: %s" % (
            len(failed), len(results), "; ".join("%s (%s): %s" % (r["identifier"], r["region"], r["error"])
                                                 for r in failed[:5]))
        if len(failed) > 5:
            message += "; and %d more" % (len(failed) - 5)
        if module.params["strict"]:
            module.fail_json(msg=message, **output)
        aws_utils.warn(module, message)
    module.exit_json(**output)


if __name__ == "__main__":
    main()
