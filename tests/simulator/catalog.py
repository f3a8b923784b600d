"""Static facts about RDS that the simulator serves.

The certificate values are the public ones AWS returns from DescribeCertificates
(see ../shared/data/rds-ca/describe-certificates.us-west-2.json); the engine
catalog is a representative subset of DescribeDBEngineVersions, with the restart
behaviour of each version decided here unless a fleet file overrides it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.timezone.utc)


@dataclass(frozen=True)
class CACertificate:
    identifier: str
    thumbprint: str
    valid_from: dt.datetime
    valid_till: dt.datetime
    key_algorithm: str


CA_CERTIFICATES: dict[str, CACertificate] = {
    ca.identifier: ca
    for ca in (
        CACertificate("rds-ca-2019", "d40ddb29e3750dffa671c3140bbf5f478d1c8096",
                      _ts("2019-08-22T17:08:50+00:00"), _ts("2024-08-22T17:08:50+00:00"), "RSA2048"),
        CACertificate("rds-ca-rsa2048-g1", "7c40cb42714b6fdb2b296f9bbd0e8bb364436a76",
                      _ts("2021-05-24T21:59:00+00:00"), _ts("2061-05-24T22:59:00+00:00"), "RSA2048"),
        CACertificate("rds-ca-rsa4096-g1", "19da4f2af579a8ae1f6a0fa77aa5befd874b4cab",
                      _ts("2021-05-24T22:03:20+00:00"), _ts("2121-05-24T23:03:20+00:00"), "RSA4096"),
        CACertificate("rds-ca-ecc384-g1", "2ee3dcc06e50192559b13929e73484354f23387d",
                      _ts("2021-05-24T22:06:59+00:00"), _ts("2121-05-24T23:06:59+00:00"), "ECC384"),
    )
}

DEFAULT_CA_FOR_NEW_LAUNCHES = "rds-ca-rsa2048-g1"
# The CA the ca-certificate-rotation maintenance action moves an instance to.
MAINTENANCE_ROTATION_TARGET = "rds-ca-rsa2048-g1"


@dataclass(frozen=True)
class EngineVersion:
    engine: str
    version: str
    family: str
    rotation_without_restart: bool
    supported_cas: tuple[str, ...] = tuple(CA_CERTIFICATES)
    description: str = ""
    is_default: bool = False

    @property
    def major(self) -> str:
        parts = self.version.split(".")
        if self.engine in ("postgres", "aurora-postgresql") and int(parts[0]) >= 10:
            return parts[0]
        return ".".join(parts[:2])


ALL_CAS = tuple(CA_CERTIFICATES)
G1_CAS = ("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1")


def _pg(version: str, without_restart: bool, **kw) -> EngineVersion:
    major = version.split(".", 1)[0]
    return EngineVersion("postgres", version, f"postgres{major}", without_restart,
                         description="PostgreSQL", **kw)


# Older minor versions need a restart to pick up a new certificate; AWS added
# restart-free rotation in later minors, which is what makes the lookup per exact
# version (not per engine) necessary.
BUILTIN_ENGINE_VERSIONS: tuple[EngineVersion, ...] = (
    _pg("11.22", False),
    _pg("12.19", False),
    _pg("12.22", True),
    _pg("13.4", True),
    _pg("13.15", True),
    _pg("14.10", False),
    _pg("14.12", True),
    _pg("15.5", True),
    _pg("15.7", True),
    _pg("16.1", True),
    _pg("16.3", True, is_default=True),
    _pg("17.2", True),
    EngineVersion("mysql", "5.7.44", "mysql5.7", False, description="MySQL Community Edition"),
    EngineVersion("mysql", "8.0.32", "mysql8.0", False, description="MySQL Community Edition"),
    EngineVersion("mysql", "8.0.36", "mysql8.0", True, description="MySQL Community Edition", is_default=True),
    EngineVersion("mysql", "8.4.3", "mysql8.4", True, description="MySQL Community Edition"),
    EngineVersion("mariadb", "10.6.16", "mariadb10.6", False, description="MariaDB Community Edition"),
    EngineVersion("mariadb", "10.5.25", "mariadb10.5", False, description="MariaDB Community Edition"),
    EngineVersion("mariadb", "10.11.8", "mariadb10.11", True, description="MariaDB Community Edition",
                  is_default=True),
    EngineVersion("aurora-postgresql", "13.12", "aurora-postgresql13", False, description="Aurora (PostgreSQL)"),
    EngineVersion("aurora-postgresql", "15.4", "aurora-postgresql15", True, description="Aurora (PostgreSQL)",
                  is_default=True),
    EngineVersion("aurora-mysql", "8.0.mysql_aurora.3.05.2", "aurora-mysql8.0", True,
                  description="Aurora MySQL", is_default=True),
    EngineVersion("sqlserver-se", "15.00.4355.3.v1", "sqlserver-se-15.0", False,
                  description="Microsoft SQL Server Standard Edition", is_default=True),
    EngineVersion("oracle-ee", "19.0.0.0.ru-2024-04.rur-2024-04.r1", "oracle-ee-19", False,
                  description="Oracle Database Enterprise Edition", is_default=True),
)


def force_ssl_parameter(engine: str, family: str) -> tuple[str, str] | None:
    """Name and engine default of the parameter that enforces TLS, or None.

    PostgreSQL changed the default of rds.force_ssl to 1 in version 15; MySQL and
    MariaDB keep require_secure_transport off by default.
    """
    if engine in ("postgres", "aurora-postgresql"):
        digits = "".join(ch for ch in family if ch.isdigit() or ch == ".")
        major = int(digits.split(".", 1)[0]) if digits else 0
        return "rds.force_ssl", "1" if major >= 15 else "0"
    if engine.startswith("sqlserver"):
        return "rds.force_ssl", "0"
    if engine in ("mysql", "mariadb", "aurora-mysql"):
        return "require_secure_transport", "0"
    return None


DEFAULT_PORTS = {
    "postgres": 5432, "aurora-postgresql": 5432, "mysql": 3306, "mariadb": 3306,
    "aurora-mysql": 3306, "oracle-ee": 1521, "sqlserver-se": 1433,
}


@dataclass
class Timing:
    """How long simulated transitions last (seconds); small for tests."""
    modify_seconds: float = 1.0
    reboot_seconds: float = 1.0
    # How far ahead of a CA's expiry RDS raises the ca-certificate-rotation action.
    maintenance_notice_days: int = 395
    extra: dict = field(default_factory=dict)
