# -*- coding: utf-8 -*-
# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""pg_connection_log: log_line_prefix patterns, connection lines of several PostgreSQL versions, portions."""

from __future__ import absolute_import, division, print_function

import datetime

import pytest

from ansible_collections.rdsca.rotation.plugins.module_utils import pg_connection_log as pcl

UTC = datetime.timezone.utc

# RDS for PostgreSQL 16 with the default prefix %t:%r:%u@%d:[%p]:
PG16 = """\
2026-12-01 10:00:01 UTC::@:[391]:LOG:  checkpoint starting: time
2026-12-01 10:00:02 UTC:10.0.1.5(51234):[unknown]@[unknown]:[4242]:LOG:  connection received: host=10.0.1.5 port=51234
2026-12-01 10:00:02 UTC:10.0.1.5(51234):app@orders:[4242]:LOG:  connection authenticated: identity="app" \
method=scram-sha-256 (/rdsdbdata/config/pg_hba.conf:13)
2026-12-01 10:00:02 UTC:10.0.1.5(51234):app@orders:[4242]:LOG:  connection authorized: user=app database=orders \
application_name=api SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)
2026-12-01 10:00:05 UTC:10.0.2.9(40000):[unknown]@[unknown]:[4243]:LOG:  connection received: host=10.0.2.9 port=40000
2026-12-01 10:00:05 UTC:10.0.2.9(40000):batch@orders:[4243]:LOG:  connection authorized: user=batch database=orders \
application_name=psql
2026-12-01 10:30:00 UTC:10.0.1.5(51300):app@orders:[4250]:LOG:  connection authorized: user=app database=orders \
application_name=api SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)
2026-12-01 10:31:00 UTC:10.0.3.3(1111):rdsadmin@rdsadmin:[4260]:LOG:  connection authorized: user=rdsadmin \
database=rdsadmin application_name=PostgreSQL JDBC Driver SSL enabled (protocol=TLSv1.2, cipher=ECDHE-RSA-AES256-GCM-SHA384, bits=256)
2026-12-01 10:32:00 UTC:10.0.1.5(51301):app@orders:[4251]:ERROR:  relation "x" does not exist
2026-12-01 10:32:00 UTC:10.0.1.5(51301):app@orders:[4251]:STATEMENT:  connection authorized: user=fake database=x
"""


def _feed(text, prefix=pcl.RDS_DEFAULT_PREFIX, chunks=None, **kwargs):
    log = pcl.ConnectionLog(prefix, **kwargs)
    for chunk in chunks or [text]:
        log.feed(chunk)
    log.end_file()
    return log


def test_rds_default_prefix_pg16_lines_aggregate_into_distinct_clients():
    log = _feed(PG16, exclude_users=["rdsadmin"])
    clients = log.clients()
    assert clients == [
        {"address": "10.0.1.5", "user": "app", "database": "orders", "application": "api", "tls": True,
         "protocol": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384", "replication": False,
         "first_seen": "2026-12-01T10:00:02Z", "last_seen": "2026-12-01T10:30:00Z", "count": 2},
        {"address": "10.0.2.9", "user": "batch", "database": "orders", "application": "psql", "tls": False,
         "protocol": None, "cipher": None, "replication": False,
         "first_seen": "2026-12-01T10:00:05Z", "last_seen": "2026-12-01T10:00:05Z", "count": 1},
    ]
    assert log.connections == 3 and log.truncated_portions == 0


def test_connections_before_the_window_are_left_out():
    log = _feed(PG16, exclude_users=["rdsadmin"], since=datetime.datetime(2026, 12, 1, 10, 15, tzinfo=UTC))
    assert [(c["application"], c["count"], c["first_seen"]) for c in log.clients()] == [
        ("api", 1, "2026-12-01T10:30:00Z")]


def test_application_names_with_spaces_and_excluded_users():
    clients = _feed(PG16).clients()
    jdbc = [c for c in clients if c["user"] == "rdsadmin"]
    assert jdbc[0]["application"] == "PostgreSQL JDBC Driver" and jdbc[0]["protocol"] == "TLSv1.2"


def test_pg12_and_pg13_lines_without_application_name_and_with_compression():
    text = ("2026-12-01 10:00:02 UTC:10.0.1.5(51234):app@orders:[77]:LOG:  connection authorized: user=app "
            "database=orders SSL enabled (protocol=TLSv1.2, cipher=ECDHE-RSA-AES256-GCM-SHA384, bits=256, "
            "compression=off)\n"
            "2026-12-01 10:00:03 UTC:10.0.1.6(5000):repl@[unknown]:[78]:LOG:  replication connection authorized: "
            "user=repl\n")
    clients = _feed(text).clients()
    assert clients[0]["tls"] is True and clients[0]["application"] is None and clients[0]["protocol"] == "TLSv1.2"
    assert clients[1]["replication"] is True and clients[1]["database"] is None and clients[1]["tls"] is False


def test_pg15_line_with_gss_and_ssl():
    text = ("2026-12-01 10:00:02 UTC:10.0.1.5(51234):app@orders:[77]:LOG:  connection authorized: user=app "
            "database=orders application_name=x SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_128_GCM_SHA256, "
            "bits=128) GSS (authenticated=no, encrypted=no, principal=none)\n")
    assert _feed(text).clients()[0]["protocol"] == "TLSv1.3"


def test_lines_split_across_portions_are_joined():
    cut = PG16.index("application_name=api") + 5
    whole = _feed(PG16).clients()
    split = _feed(None, chunks=[PG16[:cut], PG16[cut:cut + 7], PG16[cut + 7:]]).clients()
    assert split == whole
    # A final line without its newline still counts when the file ends.
    last = PG16.rstrip("\n").splitlines()[6]
    assert _feed(None, chunks=[last]).clients()[0]["count"] == 1


@pytest.mark.parametrize("prefix, line", [
    ("%m [%p] ", "2026-12-01 10:00:02.123 UTC [4242] LOG:  connection authorized: user=app database=orders "
                 "application_name=api SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)"),
    ("%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
     "2026-12-01 10:00:02 UTC [4242]: [2-1] user=app,db=orders,app=api,client=10.0.1.5 LOG:  connection authorized: "
     "user=app database=orders application_name=api SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)"),
    ("%n|%q%r|%u|%d|", "1796119202.5|10.0.1.5(51234)|app|orders|LOG:  connection authorized: user=app "
                       "database=orders application_name=api SSL enabled (protocol=TLSv1.3, cipher=X, bits=256)"),
])
def test_configured_prefixes_are_honoured(prefix, line):
    received = line.split("LOG:", 1)[0] + "LOG:  connection received: host=10.0.1.5 port=51234\n"
    if "%r" in prefix or "%h" in prefix:
        received = ""
    pid_line = received.replace("[2-1]", "[1-1]")
    clients = _feed(pid_line + line + "\n", prefix).clients()
    assert len(clients) == 1
    assert clients[0]["address"] == "10.0.1.5" and clients[0]["user"] == "app" and clients[0]["tls"] is True
    assert clients[0]["first_seen"].startswith("2026-12-01T10:00:02") or prefix.startswith("%n")


def test_a_line_of_another_prefix_is_not_misread():
    # The log says %m [%p] but the group was read as RDS's default: nothing is invented.
    text = "2026-12-01 10:00:02.123 UTC [4242] LOG:  connection authorized: user=app database=orders\n"
    log = _feed(text)
    assert log.clients() == [] and log.lines == 1


def test_truncation_notice_is_counted_not_parsed():
    log = _feed(PG16 + " [Your log message was truncated]\n")
    assert log.truncated_portions == 1


def test_time_zones_in_timestamps():
    assert pcl.parse_timestamp("2026-12-01 10:00:02 UTC") == datetime.datetime(2026, 12, 1, 10, 0, 2, tzinfo=UTC)
    assert pcl.parse_timestamp("2026-12-01 12:00:02 +02") == datetime.datetime(2026, 12, 1, 10, 0, 2, tzinfo=UTC)
    assert pcl.parse_timestamp("2026-12-01 10:00:02.250 UTC").microsecond == 250000
    assert pcl.parse_timestamp("2026-12-01 10:00:02 CET") is None


class FakeRds:
    """Answers DownloadDBLogFilePortion like RDS from a list of lines, with its 1 MB cut."""

    def __init__(self, lines, limit=1024 * 1024):
        self.lines = lines
        self.limit = limit
        self.calls = []

    def download_db_log_file_portion(self, DBInstanceIdentifier, LogFileName, Marker, NumberOfLines):  # noqa: N803
        # pylint: disable=invalid-name,unused-argument
        self.calls.append((Marker, NumberOfLines))
        start = int(Marker)
        end = min(len(self.lines), start + NumberOfLines)
        data = "".join(self.lines[start:end])
        if len(data) > self.limit:
            data = data[:self.limit] + "\n " + pcl.TRUNCATION_NOTICE + "\n"
        return {"LogFileData": data, "Marker": str(end), "AdditionalDataPending": end < len(self.lines)}


def _call(client, method, **params):
    return getattr(client, method)(**params)


def test_reading_follows_markers_until_no_data_is_pending():
    lines = PG16.splitlines(keepends=True) * 3
    rds = FakeRds(lines)
    log = pcl.ConnectionLog(exclude_users=["rdsadmin"])
    problems = pcl.read_log_file(_call, rds, "db", "error/postgresql.log.2026-12-01-10", log, lines=4)
    assert problems == [] and log.connections == 9
    assert [m for m, _n in rds.calls] == [str(i) for i in range(0, len(lines), 4)]


def test_a_truncated_portion_is_read_again_in_smaller_blocks():
    lines = PG16.splitlines(keepends=True) * 40
    rds = FakeRds(lines, limit=3000)
    log = pcl.ConnectionLog(exclude_users=["rdsadmin"])
    problems = pcl.read_log_file(_call, rds, "db", "f", log, lines=200)
    assert problems == [] and log.connections == 120 and log.truncated_portions == 0
    tiny = FakeRds(lines, limit=100)
    log = pcl.ConnectionLog(exclude_users=["rdsadmin"])
    problems = pcl.read_log_file(_call, tiny, "db", "f", log, lines=200)
    assert problems and "truncated" in problems[0] and log.truncated_portions > 0


def test_completeness_reports_log_connections_off_and_short_retention():
    now = datetime.datetime(2026, 12, 3, 12, tzinfo=UTC)
    start = now - datetime.timedelta(days=7)
    files = [{"LogFileName": "error/postgresql.log.2026-11-30-12"}, {"LogFileName": "error/postgresql.log.2026-12-03-11"}]
    off = pcl.completeness(start, now, None, {"group": "g", "log_connections": None, "retention_minutes": 4320},
                           files, [], pcl.ConnectionLog())
    assert off["complete"] is False and "log_connections is off in parameter group g" in off["reasons"][0]
    assert "shorter than the window" in off["reasons"][1] and off["covered_from"] == "2026-11-30T12:00:00Z"
    # An instance younger than the window needs logs only since it was created.
    created = datetime.datetime(2026, 11, 30, 12, 5, tzinfo=UTC)
    full = pcl.completeness(start, now, created, {"group": "g", "log_connections": "1", "retention_minutes": 4320},
                            files, [], pcl.ConnectionLog())
    assert full == {"complete": True, "reasons": [], "needed_from": "2026-11-30T12:05:00Z",
                    "covered_from": "2026-11-30T12:00:00Z", "covered_to": "2026-12-03T12:00:00Z"}
    none = pcl.completeness(start, now, created, {"group": "g", "log_connections": "1"}, [], ["x: gone"], None)
    assert none["complete"] is False and none["reasons"] == ["no log file was written in the window", "x: gone"]


def test_file_hours():
    assert pcl.file_hour("error/postgresql.log.2026-12-01-10") == datetime.datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert pcl.file_hour("error/postgresql.log.2026-12-01-1015") == datetime.datetime(2026, 12, 1, 10, 15, tzinfo=UTC)
    assert pcl.file_hour("error/postgres.log") is None


# -- one database, and the verdicts it feeds --------------------------------------------------------

class FakeError(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


class FakeAccount(FakeRds):
    """DescribeDBLogFiles over hourly files, DownloadDBLogFilePortion over their lines, or an error."""

    def __init__(self, files, describe_error=None):
        super().__init__([])
        self.files = files
        self.describe_error = describe_error
        self.describe_params = None

    def describe_db_log_files(self, **params):
        self.describe_params = params
        if self.describe_error:
            raise FakeError(self.describe_error)
        return {"DescribeDBLogFiles": [{"LogFileName": n, "LastWritten": 0, "Size": 1} for n in self.files]}

    def download_db_log_file_portion(self, DBInstanceIdentifier, LogFileName, Marker, NumberOfLines):  # noqa: N803
        # pylint: disable=invalid-name
        self.lines = self.files[LogFileName]
        return super().download_db_log_file_portion(DBInstanceIdentifier, LogFileName, Marker, NumberOfLines)


def _paginate(client, method, key, **params):
    return getattr(client, method)(**params)[key], None


AWS = {"call": _call, "paginate": _paginate, "errors": (FakeError,),
       "error_info": lambda e: {"error_code": e.code, "message": "denied"}}
NOW = datetime.datetime(2026, 12, 1, 11, tzinfo=UTC)
CREATED = datetime.datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
LOGGED = {"group": "g", "log_connections": "1", "log_line_prefix": pcl.RDS_DEFAULT_PREFIX, "retention_minutes": 4320}
TARGET = {"identifier": "orders", "engine": "postgres", "created": CREATED}


def test_gather_evidence_reads_every_file_of_the_window():
    rds = FakeAccount({"error/postgresql.log.2026-12-01-09": ["2026-12-01 09:31:00 UTC::@:[1]:LOG:  ready\n"],
                       "error/postgresql.log.2026-12-01-10": PG16.splitlines(keepends=True)})
    evidence = pcl.gather_evidence(AWS, rds, TARGET, LOGGED, 1, NOW, ["rdsadmin"])
    assert evidence["complete"] is True and evidence["tls_clients"] == 1 and evidence["plaintext_clients"] == 1
    assert evidence["files"] == ["error/postgresql.log.2026-12-01-09", "error/postgresql.log.2026-12-01-10"]
    # Files written since an hour before the window (a file's LastWritten is its end).
    assert rds.describe_params["FileLastWritten"] == int(datetime.datetime(2026, 11, 30, 10, tzinfo=UTC).timestamp() * 1000)


def test_gather_evidence_says_plainly_what_it_cannot_prove():
    mysql = pcl.gather_evidence(AWS, None, dict(TARGET, engine="mysql"), LOGGED, 1, NOW)
    assert mysql["available"] is False and "not available for mysql yet" in mysql["reason"]
    denied = pcl.gather_evidence(AWS, FakeAccount({}, describe_error="AccessDenied"), TARGET, LOGGED, 1, NOW)
    assert denied["complete"] is False and denied["errors"] == ["DescribeDBLogFiles failed: AccessDenied: denied"]
    late = pcl.gather_evidence(AWS, FakeAccount({"error/postgresql.log.2026-12-01-10": []}), TARGET, LOGGED, 1, NOW)
    assert late["complete"] is False and "cover only from 2026-12-01T10:00:00Z" in late["reason"]


def _verdict(evidence, ssl_in_use="unknown", enforced=False, samples=0):
    from ansible_collections.rdsca.rotation.plugins.module_utils import ssl_usage  # pylint: disable=import-outside-toplevel
    result = {"ssl_in_use": ssl_in_use, "ssl_in_use_reason": "sessions: not listed", "ssl_enforced": enforced,
              "usage": {"samples": samples}, "errors": [], "error": None}
    return ssl_usage.apply_log_evidence(result, evidence)


def test_verdicts_from_log_evidence():
    base = {"available": True, "complete": True, "tls_clients": 0, "plaintext_clients": 2, "window_days": 3,
            "window_start": "a", "window_end": "b", "reason": None, "errors": []}
    assert _verdict(dict(base, tls_clients=1))["ssl_in_use"] == "yes"
    clean = _verdict(base)
    assert clean["ssl_in_use"] == "no" and clean["safe_without_restart"] is True
    assert _verdict(base, enforced=True)["safe_without_restart"] is False
    # Incomplete logs (log_connections off): never "no TLS".
    off = _verdict(dict(base, complete=False, plaintext_clients=0, reason="log_connections is off"))
    assert off["ssl_in_use"] == "unknown" and "incomplete: log_connections is off" in off["ssl_in_use_reason"]
    assert off["safe_without_restart"] is False
    # Sessions that saw TLS win over logs without TLS.
    assert _verdict(base, ssl_in_use="yes")["ssl_in_use"] == "yes"
    failed = _verdict(dict(base, complete=False, errors=["DescribeDBLogFiles failed: AccessDenied: x"]))
    assert failed["error"] == "logs: DescribeDBLogFiles failed: AccessDenied: x"
    mysql = _verdict({"available": False, "reason": "log evidence is not available for mysql yet", "errors": []})
    assert mysql["ssl_in_use"] == "unknown" and "not available for mysql" in mysql["ssl_in_use_reason"]


# -- since when log_connections is off (issue 18): the server log's reload lines --------------------------------

def _switch(stamp, value):
    return '%s UTC::@:[391]:LOG:  parameter "log_connections" changed to "%s"\n' % (stamp, value)


def _switched_log(*lines):
    log = pcl.ConnectionLog(exclude_users=["rdsadmin"])
    log.feed("2026-12-01 09:00:05 UTC::@:[391]:LOG:  received SIGHUP, reloading configuration files\n" + "".join(lines))
    log.end_file()
    return log


HOURS = [{"LogFileName": "error/postgresql.log.2026-11-30-11"}, {"LogFileName": "error/postgresql.log.2026-12-01-10"}]
WINDOW_START = datetime.datetime(2026, 11, 30, 11, tzinfo=UTC)


def test_a_window_with_log_connections_turned_on_late_is_incomplete_from_the_server_log():
    """The parameter group says on (DescribeDBParameters has no date): the reload that turned it on says since when,
    so the hours before are reported as not logged, not as a window without TLS."""
    log = _switched_log(_switch("2026-12-01 09:00:05", "on"), PG16)
    facts = pcl.completeness(WINDOW_START, NOW, None, LOGGED, HOURS, [], log)
    assert facts["complete"] is False
    assert facts["reasons"] == ["log_connections was off from 2026-11-30T11:00:00Z to 2026-12-01T09:00:05Z (the server log: a "
                                "reload turned it on): connections then were not logged"]
    # Turned off and on again within the window: the gap between the two reloads.
    log = _switched_log(_switch("2026-11-30 10:00:00", "on"), _switch("2026-12-01 08:00:00", "off"),
                        _switch("2026-12-01 09:30:00", "on"))
    gap = pcl.completeness(WINDOW_START, NOW, None, LOGGED, HOURS, [], log)
    assert gap["reasons"] == ["log_connections was off from 2026-12-01T08:00:00Z to 2026-12-01T09:30:00Z (the server log: a "
                              "reload turned it off, then on): connections then were not logged"]
    # Turned off and not on again, though the group says on now (a change not applied yet): incomplete since then.
    log = _switched_log(_switch("2026-12-01 08:00:00", "off"))
    off = pcl.completeness(WINDOW_START, NOW, None, LOGGED, HOURS, [], log)
    assert off["reasons"][0].startswith("log_connections was turned off at 2026-12-01T08:00:00Z (the server log)")
    # Turned on before the window: complete.
    log = _switched_log(_switch("2026-11-30 10:00:00", "on"), PG16)
    assert pcl.completeness(WINDOW_START, NOW, None, LOGGED, HOURS, [], log)["complete"] is True


def test_log_connections_off_says_since_when():
    quiet = dict(LOGGED, log_connections="0", group="quiet")
    log = _switched_log(_switch("2026-12-01 08:00:00", "off"))
    facts = pcl.completeness(WINDOW_START, NOW, None, quiet, HOURS, [], log)
    assert facts["reasons"][0].startswith("log_connections is off in parameter group quiet since 2026-12-01T08:00:00Z "
                                          "(the server log: a reload turned it off)")
    never = pcl.completeness(WINDOW_START, NOW, None, quiet, HOURS, [], _switched_log())
    assert never["reasons"][0].startswith("log_connections is off in parameter group quiet since before 2026-11-30T11:00:00Z "
                                          "(no reload in the logs read turned it off)")


def test_the_reload_line_is_parsed_with_a_configured_prefix():
    pattern = pcl.prefix_pattern("%m [%p] ")
    event = pcl.parse_line('2026-12-01 09:00:05.123 UTC [391] LOG:  parameter "log_connections" changed to "off"', pattern)
    assert event == {"event": "log_connections", "on": False,
                     "timestamp": datetime.datetime(2026, 12, 1, 9, 0, 5, 123000, tzinfo=UTC)}


class RotatedAway(FakeAccount):
    """A file DescribeDBLogFiles listed is gone when downloaded (rotated away by rds.log_retention_period)."""

    def download_db_log_file_portion(self, DBInstanceIdentifier, LogFileName, Marker, NumberOfLines):  # noqa: N803
        # pylint: disable=invalid-name
        if LogFileName.endswith("-09"):
            raise FakeError("DBLogFileNotFoundFault")
        return super().download_db_log_file_portion(DBInstanceIdentifier, LogFileName, Marker, NumberOfLines)


def test_a_file_missing_when_downloaded_makes_the_evidence_incomplete_not_an_error():
    rds = RotatedAway({"error/postgresql.log.2026-12-01-09": [], "error/postgresql.log.2026-12-01-10": PG16.splitlines(keepends=True)})
    evidence = pcl.gather_evidence(AWS, rds, TARGET, LOGGED, 1, NOW, ["rdsadmin"])
    assert evidence["complete"] is False and evidence["errors"] == [] and evidence["tls_clients"] == 1
    assert "error/postgresql.log.2026-12-01-09 could not be read (DBLogFileNotFoundFault: denied): rotated away or missing" \
        in evidence["reason"]
