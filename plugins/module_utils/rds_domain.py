# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What this collection knows about Amazon RDS, each fact defined once. Pure: no AWS, no I/O.

Modules and the other module_utils ask this module; none of them keeps a copy.

* Words and defaults: :data:`UNKNOWN`, :data:`YES`, :data:`NO`, :data:`DEFAULT_TARGET_CA`,
  :data:`DEFAULT_ENVIRONMENT_TAG`, :data:`DEFAULT_EXCLUDE_USERS`, :data:`REGION_PATTERN`.
* CA identifiers (:data:`CURRENT_CAS`, :data:`CA_2019`...) and the one CA-name classifier,
  :func:`ca_from_name` (certificate common name -> RDS CA identifier), with :func:`presented_ca`
  and :func:`g1_root_common_name`.
* The engine table (:data:`ENGINES`): per engine, its family, DB cluster kind, the protocol of
  its TLS upgrade, its TLS enforcement parameter and that parameter's default per version, and
  whether this collection rotates its CA (:func:`engine_spec` and the helpers below it).
* DB instance statuses (:func:`status_category`, :func:`status_reason`, :data:`NOT_RUNNING`).
* Restarts: :func:`would_restart` (the one answer to "would changing the CA restart it?") and
  :func:`restart_free_verdict` ("may it be changed with CertificateRotationRestart=false?").
* Operation names of the calls a rotation plan makes (:data:`OPERATIONS`, :func:`operation_name`).
* Time helpers (:func:`utcnow`, :func:`parse_time`, :func:`iso`, :func:`iso_z`, :func:`days_until`).
"""

import datetime
import fnmatch
import re
import typing

# -- words and defaults ----------------------------------------------------------------------

YES = "yes"
NO = "no"
UNKNOWN = "unknown"
UNTAGGED = "untagged"

DEFAULT_ENVIRONMENT_TAG = "Environment"
# RDS's own accounts: their sessions are the service's, never a client's.
DEFAULT_EXCLUDE_USERS = ("rdsadmin", "rdsrepladmin")

# A region name: two to four letters, one or two words, a number
# (us-east-1, us-gov-west-1, us-isob-east-1, eu-isoe-west-1, eusc-de-east-1, cn-north-1).
REGION_PATTERN = re.compile(r"^[a-z]{2,4}(-[a-z]+){1,2}-\d{1,2}$")
_REGION = r"(?P<region>[a-z]{2,4}(?:-[a-z]+){1,2}-\d{1,2})"

# -- CA identifiers ----------------------------------------------------------------------------

CA_2015 = "rds-ca-2015"
CA_2019 = "rds-ca-2019"
CA_RSA2048_G1 = "rds-ca-rsa2048-g1"
CA_RSA4096_G1 = "rds-ca-rsa4096-g1"
CA_ECC384_G1 = "rds-ca-ecc384-g1"
# The current ("G1") CAs: identifier -> the label in "Amazon RDS <region> Root CA <label> G1".
G1_LABELS = {CA_RSA2048_G1: "RSA2048", CA_RSA4096_G1: "RSA4096", CA_ECC384_G1: "ECC384"}
G1_CAS = dict((label, ca) for ca, label in G1_LABELS.items())
CURRENT_CAS = TARGET_CAS = tuple(sorted(G1_LABELS))
# Every CA identifier RDS has used, oldest first.
KNOWN_CAS = (CA_2015, CA_2019) + CURRENT_CAS
DEFAULT_TARGET_CA = CA_RSA2048_G1
# The CA the ca-certificate-rotation maintenance action moves a database to.
MAINTENANCE_ROTATION_TARGET = CA_RSA2048_G1
ROTATION_ACTION = "ca-certificate-rotation"
# What a CA identifier looks like (rds-ca-rsa2048-g1); DescribeCertificates says which exist.
CA_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")

# Regions launched after the 2015 CA that got their own 2019-generation root ("Amazon RDS
# af-south-1 Root CA", 2019-2024) and intermediate ("Amazon RDS af-south-1 CA"): see the real
# global bundle of 2024. Elsewhere "Amazon RDS <region> CA" is a 2015 intermediate, issued by
# "Amazon RDS Root CA" (the 2015 root, 2015-2020).
REGIONAL_ROOT_2019_REGIONS = ("af-south-1", "eu-south-1", "me-south-1")

_VARIANT = r"(?:(?P<variant>Beta|Preview) )?"
# Evaluated in order; the first match wins.
_CA_NAME_PATTERNS = (
    # G1 roots ("Amazon RDS us-east-1 Root CA RSA2048 G1") and the CAs they sign, which keep the
    # key-type/generation label (the subordinates that issue server certificates,
    # "Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1").
    (re.compile(r"^Amazon RDS " + _VARIANT + _REGION + r" (?P<role>Root|[A-Za-z]+)? ?CA "
                r"(?P<g1>RSA2048|RSA4096|ECC384) G1\b"), "g1"),
    (re.compile(r"^Amazon RDS " + _VARIANT + r"(?P<role>Root) 2019 CA$"), "2019"),
    (re.compile(r"^Amazon RDS " + _VARIANT + _REGION + r" 2019 CA$"), "2019"),
    (re.compile(r"^Amazon RDS " + _VARIANT + _REGION + r" (?P<role>Root) CA$"), "2019"),
    (re.compile(r"^Amazon RDS " + _VARIANT + _REGION + r" CA$"), "regional"),
    (re.compile(r"^Amazon RDS " + _VARIANT + r"(?P<role>Root) CA$"), "2015"),
)


def _regional_ca(region: typing.Optional[str], chain_names: typing.Iterable[typing.Optional[str]]) -> str:
    """The generation of an ``Amazon RDS <region> CA`` intermediate, settled by its chain when known."""
    others = [str(n) for n in chain_names or () if n]
    if "Amazon RDS Root CA" in others:
        return CA_2015
    if region in REGIONAL_ROOT_2019_REGIONS or any(n.endswith("%s Root CA" % region) for n in others):
        return CA_2019
    return CA_2015


def ca_from_name(common_name: typing.Optional[str], chain_names: typing.Iterable[typing.Optional[str]] = ()) -> typing.Optional[dict]:
    """The RDS CA identifier a certificate name belongs to, or None for a name that is not an RDS CA.

    The one classifier of RDS CA names (bundles, trust stores, TLS probes). ``common_name`` is a
    CA's CN (a leaf's issuer, an intermediate or a root):

    * ``Amazon RDS us-east-1 Root CA RSA2048 G1`` (root) and ``Amazon RDS us-east-1 Subordinate CA
      RSA2048 G1.A.1`` (the intermediate that issues RDS server certificates): ``rds-ca-rsa2048-g1``;
    * ``Amazon RDS Root 2019 CA``, ``Amazon RDS us-east-1 2019 CA``, and in af-south-1, eu-south-1
      and me-south-1 ``Amazon RDS <region> Root CA`` / ``Amazon RDS <region> CA``: ``rds-ca-2019``;
    * ``Amazon RDS Root CA`` (the 2015 root) and elsewhere ``Amazon RDS <region> CA``: ``rds-ca-2015``.

    ``chain_names`` (other CNs of the chain, when known) settle the one ambiguous shape,
    ``Amazon RDS <region> CA``. Returns ``{ca_identifier, region, variant, role, name}``:
    ``region`` is None for the region-independent roots, ``variant`` is ``Beta``/``Preview`` or
    None, ``role`` is ``root`` or ``intermediate``.
    """
    if not common_name:
        return None
    name = str(common_name).strip()
    for pattern, family in _CA_NAME_PATTERNS:
        match = pattern.match(name)
        if not match:
            continue
        groups = match.groupdict()
        region = groups.get("region")
        if family == "g1":
            ca_id = G1_CAS[groups["g1"]]
        elif family == "2019":
            ca_id = CA_2019
        elif family == "2015":
            ca_id = CA_2015
        else:
            ca_id = _regional_ca(region, chain_names)
        role = "root" if (groups.get("role") or "").lower() == "root" else "intermediate"
        return {"ca_identifier": ca_id, "region": region, "variant": groups.get("variant"), "role": role,
                "name": name}
    return None


def presented_ca(issuer_cn: typing.Optional[str], chain_names: typing.Iterable[typing.Optional[str]] = ()) -> typing.Optional[dict]:
    """The CA identifier behind a presented certificate: its issuer first, then the rest of the chain."""
    names = [issuer_cn] + [n for n in chain_names or () if n and n != issuer_cn]
    for candidate in names:
        found = ca_from_name(candidate, names)
        if found is not None:
            return found
    return None


def g1_root_common_name(region: str, ca_identifier: str) -> str:
    """The common name of a region's root of a current CA (``Amazon RDS eu-west-1 Root CA RSA2048 G1``)."""
    return "Amazon RDS %s Root CA %s G1" % (region, G1_LABELS[ca_identifier])


# -- engines -----------------------------------------------------------------------------------

FORCE_SSL = "rds.force_ssl"
REQUIRE_SECURE_TRANSPORT = "require_secure_transport"
AURORA = "aurora"
MULTI_AZ_DB_CLUSTER = "multi_az_db_cluster"


class EngineSpec(typing.NamedTuple):
    """What RDS does with one engine (a row of :data:`ENGINES`)."""

    pattern: str  # fnmatch pattern on the lower-cased RDS engine name
    family: typing.Optional[str]  # postgres, mysql, sqlserver, oracle, db2, docdb, neptune
    protocol: typing.Optional[str]  # TLS upgrade of tls_probe: postgres, mysql, tds, tls (from the first byte)
    enforcement_parameter: typing.Optional[str]  # the parameter that makes the server refuse plaintext
    enforced_from_major: typing.Optional[int]  # major version from which that parameter defaults to on
    cluster_kind: str  # what a DB cluster of this engine is (DescribeDBClusters)
    rotatable: bool  # whether this collection changes its CA


# First match wins. rds.force_ssl defaults to 1 from PostgreSQL 15 (RDS and Aurora; 0 before), to 0 on
# SQL Server; require_secure_transport defaults to OFF on MySQL and MariaDB
# (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL.Concepts.General.SSL.html,
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/mysql-ssl-connections.html). RDS Custom is reported,
# never rotated. "postgresql" and "tls" are protocol names tls_probe accepts too.
# DocumentDB and Neptune are managed through the RDS API (DescribeDBInstances lists them, ModifyDBInstance takes
# CACertificateIdentifier per instance, their clusters are like Aurora's: the CA is per member). Their endpoints
# speak TLS from the first byte (DocumentDB 27017, Neptune HTTPS/WSS 8182). Their TLS switches are cluster
# parameters whose values are not RDS's 0/1 (DocumentDB `tls`: enabled, disabled, tls1.2+, tls1.3+, fips-140-3;
# Neptune `neptune_enforce_ssl`, and HTTPS only from engine 1.0.4.0), and sessions cannot be listed over SQL:
# rds_ssl_usage reads no parameter for them (None here); see ENDPOINT_CERTIFICATES for Neptune's certificate.
ENGINES = (
    EngineSpec("postgres", "postgres", "postgres", FORCE_SSL, 15, MULTI_AZ_DB_CLUSTER, True),
    EngineSpec("postgresql", "postgres", "postgres", FORCE_SSL, 15, MULTI_AZ_DB_CLUSTER, True),
    EngineSpec("aurora-postgresql*", "postgres", "postgres", FORCE_SSL, 15, AURORA, True),
    EngineSpec("mysql", "mysql", "mysql", REQUIRE_SECURE_TRANSPORT, None, MULTI_AZ_DB_CLUSTER, True),
    EngineSpec("mariadb", "mysql", "mysql", REQUIRE_SECURE_TRANSPORT, None, MULTI_AZ_DB_CLUSTER, True),
    EngineSpec("aurora", "mysql", "mysql", REQUIRE_SECURE_TRANSPORT, None, AURORA, True),
    EngineSpec("aurora-mysql*", "mysql", "mysql", REQUIRE_SECURE_TRANSPORT, None, AURORA, True),
    EngineSpec("aurora*", None, None, None, None, AURORA, True),
    EngineSpec("sqlserver*", "sqlserver", "tds", FORCE_SSL, None, MULTI_AZ_DB_CLUSTER, True),
    EngineSpec("custom-sqlserver*", "sqlserver", "tds", FORCE_SSL, None, MULTI_AZ_DB_CLUSTER, False),
    EngineSpec("oracle*", "oracle", "tls", None, None, MULTI_AZ_DB_CLUSTER, True),
    EngineSpec("custom-oracle*", "oracle", "tls", None, None, MULTI_AZ_DB_CLUSTER, False),
    EngineSpec("db2*", "db2", "tls", None, None, MULTI_AZ_DB_CLUSTER, True),
    EngineSpec("docdb", "docdb", "tls", None, None, "docdb", True),
    EngineSpec("neptune", "neptune", "tls", None, None, "neptune", True),
    EngineSpec("custom-*", None, None, None, None, MULTI_AZ_DB_CLUSTER, False),
    EngineSpec("tls", None, "tls", None, None, MULTI_AZ_DB_CLUSTER, True),
)

# Engines the RDS API reports. Patterns in rds_ca_facts' `engines` option must match one of these.
KNOWN_ENGINES = (
    "postgres", "mysql", "mariadb",
    "aurora", "aurora-mysql", "aurora-postgresql",
    "sqlserver-ee", "sqlserver-se", "sqlserver-ex", "sqlserver-web",
    "oracle-ee", "oracle-ee-cdb", "oracle-se2", "oracle-se2-cdb",
    "db2-ae", "db2-se",
    "custom-oracle-ee", "custom-oracle-ee-cdb", "custom-oracle-se2", "custom-oracle-se2-cdb",
    "custom-sqlserver-ee", "custom-sqlserver-se", "custom-sqlserver-web", "custom-sqlserver-dev",
    "docdb", "neptune",
)


def engine_spec(engine: typing.Optional[str]) -> typing.Optional[EngineSpec]:
    """The row of :data:`ENGINES` for an RDS engine name (None for an engine it does not know)."""
    name = (engine or "").lower()
    if not name:
        return None
    for spec in ENGINES:
        if fnmatch.fnmatchcase(name, spec.pattern):
            return spec
    return None


def engine_supported(engine: typing.Optional[str]) -> bool:
    """Whether this collection rotates the CA of databases of ``engine`` (unknown engines: yes)."""
    spec = engine_spec(engine)
    return spec is None or spec.rotatable


def engine_protocol(engine: typing.Optional[str]) -> typing.Optional[str]:
    """How to reach TLS on an engine's endpoint: postgres, mysql, tds, tls (direct), or None if unknown."""
    spec = engine_spec(engine)
    return spec.protocol if spec is not None else None


def usage_kind(engine: typing.Optional[str]) -> typing.Optional[str]:
    """``postgres`` or ``mysql`` when sessions can be listed over SQL for ``engine``, else None."""
    protocol = engine_protocol(engine)
    return protocol if protocol in ("postgres", "mysql") else None


def enforcement_parameter(engine: typing.Optional[str]) -> typing.Optional[str]:
    """The parameter that enforces TLS on ``engine`` (None when there is none)."""
    spec = engine_spec(engine)
    return spec.enforcement_parameter if spec is not None else None


def major_version(version: typing.Optional[str]) -> typing.Optional[int]:
    """The major version number of an engine version (``"13.4"`` -> 13, ``"15.00.4153.1.v1"`` -> 15)."""
    digits = ""
    for char in str(version or ""):
        if char.isdigit():
            digits += char
        elif digits:
            break
    return int(digits) if digits else None


def engine_default(engine: typing.Optional[str], engine_version: typing.Optional[str]) -> typing.Optional[str]:
    """The engine default of the enforcement parameter: ``"1"``, ``"0"`` or None (no parameter / unknown).

    PostgreSQL (RDS and Aurora) turned ``rds.force_ssl`` on by default in major version 15;
    before that, and for SQL Server, MySQL and MariaDB, the default is off.
    """
    spec = engine_spec(engine)
    if spec is None or spec.enforcement_parameter is None:
        return None
    if spec.enforced_from_major is None:
        return "0"
    major = major_version(engine_version)
    if major is None:
        return None
    return "1" if major >= spec.enforced_from_major else "0"


def cluster_kind(engine: typing.Optional[str]) -> str:
    """``aurora``, ``docdb``, ``neptune`` or ``multi_az_db_cluster`` for a DB cluster of ``engine``."""
    spec = engine_spec(engine)
    return spec.cluster_kind if spec is not None else MULTI_AZ_DB_CLUSTER


# What an engine's endpoint presents, when it is not a certificate issued by the instance's RDS CA.
# Neptune User Guide, "Encrypting connections to your Amazon Neptune database with SSL/HTTPS": Neptune assigns one
# wildcard certificate per account and Region (instance, cluster and reader endpoints) and its root is an Amazon
# Trust Services root ("download the Amazon Root CA certificate ... from the Amazon Trust Services policy
# repository"). Neptune's own API (ModifyDBInstance) still takes CACertificateIdentifier, but it documents no
# CertificateRotationRestart and its DBEngineVersion no SupportsCertificateRotationWithoutRestart.
ACM = "acm"
RDS_CA = "rds_ca"
ENDPOINT_CERTIFICATES = {"neptune": ACM}
# Engines whose ModifyDBInstance documents no CertificateRotationRestart (never sent for them).
NO_ROTATION_RESTART_PARAMETER = ("neptune",)
# The CAs of Amazon Trust Services (ACM's public certificates, RDS Proxy, Neptune): roots and the intermediates
# that issue ACM certificates (ACM User Guide, "Trusted certificate authorities"; https://www.amazontrust.com/repository/).
_ATS_NAME = re.compile(r"^(?:Amazon Root CA [1-4]|Amazon (?:RSA 2048|RSA 4096|ECDSA 256|ECDSA 384) M\d{2}|"
                       r"Starfield Services Root Certificate Authority - G2)$")


def endpoint_certificate(engine: typing.Optional[str]) -> str:
    """``acm`` when AWS documents that the engine's endpoints present an ACM (Amazon Trust Services) certificate,
    else ``rds_ca`` (a certificate issued by the instance's RDS CA, which a CA rotation replaces)."""
    spec = engine_spec(engine)
    return ENDPOINT_CERTIFICATES.get(spec.family if spec is not None else None, RDS_CA)


def rotation_restart_parameter(engine: typing.Optional[str]) -> bool:
    """Whether ModifyDBInstance takes CertificateRotationRestart for ``engine`` (not Neptune's API)."""
    spec = engine_spec(engine)
    return not (spec is not None and spec.family in NO_ROTATION_RESTART_PARAMETER)


def amazon_trust_services_ca(common_name: typing.Optional[str]) -> bool:
    """Whether a CA name is one of Amazon Trust Services' (``Amazon RSA 2048 M02``, ``Amazon Root CA 1``...)."""
    return bool(common_name) and bool(_ATS_NAME.match(str(common_name).strip()))


def is_multi_az_cluster(cluster: dict) -> bool:
    """Whether a DescribeDBClusters item is a Multi-AZ DB cluster (its CA is changed on the cluster)."""
    return cluster_kind(cluster.get("Engine")) == MULTI_AZ_DB_CLUSTER


# -- DB instance statuses ------------------------------------------------------------------------
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html

AVAILABLE = "available"
# Deliberate states: leave the database alone, say why.
SKIP_STATUSES = {
    "stopped": "the database is stopped; start it (or rotate it when it runs) - a stopped instance cannot be modified",
    "stopping": "the database is stopping; rotate it when it runs again",
    "deleting": "the database is being deleted",
}
# Broken states: an operator must act; reported as failed.
FAIL_STATUSES = {
    "storage-full": "the database has run out of storage (storage-full); add storage before rotating its CA",
    "failed": "the database is in the failed state",
    "inaccessible-encryption-credentials": "the database cannot access its KMS key (inaccessible-encryption-credentials)",
    "inaccessible-encryption-credentials-recoverable": "the database cannot access its KMS key",
    "incompatible-network": "the database is in the incompatible-network state",
    "incompatible-option-group": "the database is in the incompatible-option-group state",
    "incompatible-parameters": "the database is in the incompatible-parameters state",
    "incompatible-restore": "the database is in the incompatible-restore state",
    "insufficient-capacity": "the database is in the insufficient-capacity state",
    "restore-error": "the database is in the restore-error state",
}
# States in which there is no server to connect to (rds_ssl_usage does not try).
NOT_RUNNING = ("stopped", "stopping", "starting", "deleting", "creating", "failed", "inaccessible-encryption-credentials",
               "incompatible-network", "incompatible-restore", "restore-error", "storage-full")


def status_category(status: typing.Optional[str]) -> str:
    """``available``, ``wait``, ``skip`` or ``fail`` for an RDS status (unknown statuses wait)."""
    if status == AVAILABLE:
        return "available"
    if status in SKIP_STATUSES:
        return "skip"
    if status in FAIL_STATUSES:
        return "fail"
    return "wait"


def status_reason(status: typing.Optional[str]) -> str:
    """Why a database in ``status`` is left alone or waited for, in words."""
    if status in SKIP_STATUSES:
        return SKIP_STATUSES[status]
    if status in FAIL_STATUSES:
        return FAIL_STATUSES[status]
    return "the database is %s" % status


# -- restarts ------------------------------------------------------------------------------------

def rotation_without_restart(capability: typing.Optional[dict]) -> typing.Union[bool, str]:
    """True, False or ``unknown``: SupportsCertificateRotationWithoutRestart of one engine version.

    ``capability`` is ``{"rotation_without_restart": ...}`` as module_utils.inventory.engine_capabilities
    builds it from DescribeDBEngineVersions (None when the version was not reported).
    """
    if not capability:
        return UNKNOWN
    value = capability.get("rotation_without_restart", UNKNOWN)
    return value if value in (True, False) else UNKNOWN


def would_restart(restart_free: typing.Union[bool, str, None], certificate_rotation_restart: typing.Optional[bool] = None,
                  changes_ca: bool = True) -> typing.Union[bool, str]:
    """Would changing this database's CA restart it? True, False or ``unknown``. The one place that decides.

    * ``restart_free``: the engine version's SupportsCertificateRotationWithoutRestart
      (:func:`rotation_without_restart`: True, False or ``unknown``/None when not reported).
    * ``certificate_rotation_restart``: the CertificateRotationRestart that ModifyDBInstance sends
      (None when not sent). Only a DB instance change has it: pass None for a Multi-AZ DB cluster
      (ModifyDBCluster) and for ApplyPendingMaintenanceAction. True forces a restart; False avoids it
      (rds_ca_rotate sends False only with evidence that SSL/TLS is unused: :func:`restart_free_verdict`).
    * ``changes_ca``: False when nothing is changed (already on the target, or the change to it is
      already pending): nothing restarts.

    An engine version that rotates without a restart never restarts
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL-certificate-rotation.html).
    Used by rds_ca_facts (``would_restart`` of each database), rds_ca_rotate's plan, and the
    report: a database that was rotated *restarted* when this said True or RDS showed it ``rebooting``.
    """
    if not changes_ca:
        return False
    if restart_free is True:
        return False
    if certificate_rotation_restart is True:
        return True
    if certificate_rotation_restart is False:
        return False
    return True if restart_free is False else UNKNOWN


def restart_category(restart: typing.Union[bool, str, None]) -> str:
    """``restart``, ``no_restart`` or ``unknown``: the key of a :func:`would_restart` answer in summaries."""
    if restart is True:
        return "restart"
    if restart is False:
        return "no_restart"
    return UNKNOWN


def restart_free_verdict(ssl_in_use: typing.Optional[str], ssl_enforced: typing.Union[bool, str, None], samples: typing.Optional[int],
                         reason: typing.Optional[str] = None, complete_log_window: bool = False) -> typing.Tuple[bool, str]:
    """``(safe, reason)``: may the CA be rotated with CertificateRotationRestart=false?

    Only when SSL is provably unused (``ssl_in_use`` is ``no``) over a window (at least two samples,
    so not a single instant, or complete connection logs over days: ``complete_log_window``) and not
    enforced: clients that use TLS keep the old certificate until the next restart, which is exactly
    what the restart is for.
    """
    if ssl_in_use == YES:
        return False, "SSL/TLS is in use: %s" % (reason or "SSL sessions seen")
    if ssl_in_use != NO:
        return False, "SSL/TLS usage is unknown: %s" % (reason or "not determined")
    if ssl_enforced is True:
        return False, "SSL/TLS is enforced: every client that connects uses TLS"
    if ssl_enforced is not False:
        return False, "whether SSL/TLS is enforced is unknown"
    if (samples or 0) < 2 and not complete_log_window:
        return False, "a single snapshot cannot prove SSL/TLS is unused; watch a window (sample_seconds)"
    return True, "SSL/TLS is not enforced and no SSL/TLS client was seen: %s" % (reason or "")


# -- operations ----------------------------------------------------------------------------------

# The calls of a rotation plan (``call["op"]``) and the RDS API operation each one is.
OPERATIONS = {"modify_instance": "ModifyDBInstance", "modify_cluster": "ModifyDBCluster",
              "apply_pending_action": "ApplyPendingMaintenanceAction"}


def operation_name(call: dict) -> typing.Optional[str]:
    """The RDS API operation of a plan's call (the ``op`` itself when it is not one of :data:`OPERATIONS`)."""
    return OPERATIONS.get(call.get("op"), call.get("op"))


# -- labels --------------------------------------------------------------------------------------

def db_label(region: typing.Optional[str], identifier: typing.Optional[str], account: typing.Optional[str] = None) -> str:
    """The one name of a database in messages, results and rollback input: ``region/identifier``, or
    ``account/region/identifier`` when the module works on named accounts (issue #17)."""
    if account:
        return "%s/%s/%s" % (account, region, identifier)
    return "%s/%s" % (region, identifier)


def scope_label(region: typing.Optional[str], account: typing.Optional[str] = None) -> typing.Optional[str]:
    """The one name of a scope: ``region``, or ``account/region`` for a named account (keys of ``api_calls``,
    rds_ca_facts ``regions``, the places calls go to)."""
    return "%s/%s" % (account, region) if account else region


def split_label(text: str) -> typing.Tuple[typing.Optional[str], typing.Optional[str], str]:
    """``(account, region, identifier)`` of a label (account and region None when the label lacks them)."""
    parts = str(text).split("/")
    if len(parts) >= 3:
        return parts[0], parts[1], "/".join(parts[2:])
    if len(parts) == 2:
        return None, parts[0], parts[1]
    return None, None, parts[0]


# -- time ----------------------------------------------------------------------------------------

UTC = datetime.timezone.utc


def utcnow() -> datetime.datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.datetime.now(UTC)


def parse_time(value: typing.Any) -> typing.Optional[datetime.datetime]:
    """A timezone-aware UTC datetime from a boto3 datetime or an ISO 8601 string (None stays None).

    A naive datetime is taken as UTC (RDS times are UTC).
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        parsed = value
    elif isinstance(value, datetime.date):
        parsed = datetime.datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip().replace(" ", "T", 1)
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        parsed = datetime.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso(value: typing.Any) -> typing.Optional[str]:
    """ISO 8601 text in UTC (``2024-08-22T17:08:50+00:00``) of a datetime or time text (None stays None)."""
    parsed = parse_time(value)
    return parsed.isoformat() if parsed is not None else None


def iso_z(value: typing.Optional[datetime.datetime]) -> typing.Optional[str]:
    """ISO 8601 text in UTC to the second with a ``Z`` (``2024-08-22T17:08:50Z``), as certificates show."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def now_iso() -> str:
    """:func:`utcnow` as :func:`iso` text."""
    return utcnow().isoformat()


def days_until(value: typing.Any, now: datetime.datetime) -> typing.Optional[int]:
    """Whole days from ``now`` until ``value`` (negative once past; None if unknown)."""
    parsed = parse_time(value)
    if parsed is None:
        return None
    return int((parsed - now).total_seconds() // 86400)


# An AWS account ID: 12 digits.
ACCOUNT_ID = re.compile(r"^\d{12}$")
