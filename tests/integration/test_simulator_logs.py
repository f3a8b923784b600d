"""DescribeDBLogFiles / DownloadDBLogFilePortion served from a linked PostgreSQL server's real log."""

from __future__ import annotations

import re

import botocore.exceptions
import psycopg2
import pytest

from tests.simulator import db_logs
from tests.simulator.linked import tools_available

FLEET = {
    "timing": {"modify_seconds": 0.3, "reboot_seconds": 0.3},
    "regions": {
        "us-east-1": {
            "parameter_groups": [{"name": "pg16-logged", "family": "postgres16",
                                  "parameters": {"log_connections": "1", "rds.force_ssl": "0"}}],
            "instances": [
                {"id": "logged", "engine": "postgres", "engine_version": "16.3", "parameter_group": "pg16-logged",
                 "linked": "postgres"},
                {"id": "quiet", "engine": "postgres", "engine_version": "16.3", "linked": "postgres"},
                {"id": "unlinked", "engine": "postgres", "engine_version": "16.3"},
            ],
        },
    },
}
FILE_NAME = re.compile(r"^error/postgresql\.log\.\d{4}-\d{2}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def logs(simulator):
    ok, reason = tools_available("postgres")
    if not ok:
        pytest.skip(reason)
    simulator.load(FLEET)
    yield simulator


def _connect(sim, db_id, sslmode, application_name):
    client = sim.client()
    db = client.describe_db_instances(DBInstanceIdentifier=db_id)["DBInstances"][0]
    server = sim.sim.linker.databases[(sim.sim.fleet.account_id, "us-east-1", db_id)].server
    conn = psycopg2.connect(host="127.0.0.1", port=db["Endpoint"]["Port"], user="admin", dbname="admin",
                            password=server.admin_password, sslmode=sslmode, connect_timeout=10,
                            application_name=application_name)
    conn.close()


def _download_all(client, db_id, name, lines):
    marker, chunks, calls = "0", [], 0
    while True:
        part = client.download_db_log_file_portion(DBInstanceIdentifier=db_id, LogFileName=name, Marker=marker,
                                                   NumberOfLines=lines)
        calls += 1
        chunks.append(part["LogFileData"])
        marker = part["Marker"]
        if not part["AdditionalDataPending"]:
            return "".join(chunks), calls


def test_connections_appear_in_hourly_files_with_rds_prefix(logs):
    _connect(logs, "logged", "require", "tls-client")
    _connect(logs, "logged", "disable", "plain-client")
    client = logs.client()
    files = client.describe_db_log_files(DBInstanceIdentifier="logged")["DescribeDBLogFiles"]
    assert files and all(FILE_NAME.match(f["LogFileName"]) for f in files)
    assert all(f["Size"] > 0 and f["LastWritten"] > 1_700_000_000_000 for f in files)
    text = "".join(_download_all(client, "logged", f["LogFileName"], 1000)[0] for f in files)
    # RDS's default prefix %t:%r:%u@%d:[%p]: and PostgreSQL's own connection lines.
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC:127\.0\.0\.1\(\d+\):admin@admin:\[\d+\]:LOG:  "
                     r"connection authorized: user=admin database=admin application_name=tls-client "
                     r"SSL enabled \(protocol=TLSv1\.[23], cipher=\S+, bits=\d+\)$", text, re.M), text[-2000:]
    assert re.search(r"connection authorized: user=admin database=admin application_name=plain-client$", text, re.M)
    assert "connection received: host=127.0.0.1 port=" in text
    assert "--- starting" not in text


def test_log_connections_follows_the_parameter_group(logs):
    _connect(logs, "quiet", "require", "unseen")
    client = logs.client()
    files = client.describe_db_log_files(DBInstanceIdentifier="quiet")["DescribeDBLogFiles"]
    text = "".join(_download_all(client, "quiet", f["LogFileName"], 1000)[0] for f in files)
    assert "database system is ready to accept connections" in text
    assert "connection authorized" not in text
    params = {p["ParameterName"]: p for p in
              client.describe_db_parameters(DBParameterGroupName="default.postgres16")["Parameters"]}
    assert "ParameterValue" not in params["log_connections"]
    assert params["log_line_prefix"]["ParameterValue"] == "%t:%r:%u@%d:[%p]:"
    assert params["rds.log_retention_period"]["ParameterValue"] == "4320"


def test_portions_page_with_markers_and_lines(logs):
    for i in range(5):
        _connect(logs, "logged", "require", f"pager-{i}")
    client = logs.client()
    name = client.describe_db_log_files(DBInstanceIdentifier="logged")["DescribeDBLogFiles"][-1]["LogFileName"]
    whole, whole_calls = _download_all(client, "logged", name, 10000)
    paged, paged_calls = _download_all(client, "logged", name, 3)
    assert whole_calls == 1 and paged_calls > 3
    assert paged.startswith(whole)  # the log only grows between the two reads
    first = client.download_db_log_file_portion(DBInstanceIdentifier="logged", LogFileName=name, Marker="0",
                                                NumberOfLines=2)
    assert first["AdditionalDataPending"] is True and len(first["LogFileData"].splitlines()) == 2
    # NumberOfLines without a marker: the most recent lines.
    tail = client.download_db_log_file_portion(DBInstanceIdentifier="logged", LogFileName=name, NumberOfLines=2)
    assert tail["AdditionalDataPending"] is False and len(tail["LogFileData"].splitlines()) == 2
    assert "application_name=pager-4" in tail["LogFileData"] and "application_name=pager-4" in paged


def test_errors_and_unlinked_instances(logs):
    client = logs.client()
    assert client.describe_db_log_files(DBInstanceIdentifier="unlinked")["DescribeDBLogFiles"] == []
    with pytest.raises(botocore.exceptions.ClientError) as err:
        client.download_db_log_file_portion(DBInstanceIdentifier="logged", LogFileName="error/postgresql.log.1999-01-01-00")
    assert err.value.response["Error"]["Code"] == "DBLogFileNotFoundFault"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        client.describe_db_log_files(DBInstanceIdentifier="missing")
    assert err.value.response["Error"]["Code"] == "DBInstanceNotFound"
    name = client.describe_db_log_files(DBInstanceIdentifier="logged")["DescribeDBLogFiles"][0]["LogFileName"]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        client.download_db_log_file_portion(DBInstanceIdentifier="logged", LogFileName=name, Marker="junk")
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_a_portion_over_one_megabyte_is_truncated_like_rds():
    line = b"2026-12-01 10:00:00 UTC:127.0.0.1(5000):u@d:[1]:LOG:  " + b"x" * 1000 + b"\n"
    log_file = db_logs.LogFile("error/postgresql.log.2026-12-01-10", line * 2000, 0)
    part = db_logs.portion(log_file, "0", 1500)
    assert part["LogFileData"].endswith(db_logs.TRUNCATION_NOTICE)
    assert len(part["LogFileData"].encode()) <= db_logs.MAX_PORTION_BYTES + len(db_logs.TRUNCATION_NOTICE)
    # The marker moves past the cut lines: they are lost, as on RDS.
    rest = db_logs.portion(log_file, part["Marker"], 1500)
    assert rest["AdditionalDataPending"] is False and len(rest["LogFileData"].splitlines()) == 500


def test_hourly_rotation_and_retention(tmp_path):
    log = tmp_path / "postgresql.log"
    log.write_bytes(b"initdb says hello\n--- starting postgres\n"
                    b"2026-12-01 09:59:59 UTC::@:[7]:LOG:  database system is ready\n"
                    b"2026-12-01 10:00:01 UTC:10.0.0.5(4000):app@orders:[8]:LOG:  connection authorized: user=app\n"
                    b"\tcontinued detail\n"
                    b"2026-12-03 11:00:00 UTC::@:[7]:LOG:  checkpoint\n")
    import datetime as dt  # pylint: disable=import-outside-toplevel
    now = dt.datetime(2026, 12, 3, 12, tzinfo=dt.timezone.utc)
    files = db_logs.hourly_files(log, 4320, now=now)
    assert [f.name for f in files] == ["error/postgresql.log.2026-12-01-09", "error/postgresql.log.2026-12-01-10",
                                       "error/postgresql.log.2026-12-03-11"]
    assert files[1].data.endswith(b"\tcontinued detail\n") and b"initdb" not in files[0].data
    # Two days of retention: the 2026-12-01 files are gone.
    assert [f.name for f in db_logs.hourly_files(log, 2880, now=now)] == ["error/postgresql.log.2026-12-03-11"]


def test_many_hourly_files_page_and_filter(logs, tmp_path):
    """30 hours of log: DescribeDBLogFiles pages by MaxRecords with a Marker, filters by name, time and size."""
    import datetime as dt  # pylint: disable=import-outside-toplevel

    from tests.simulator import rds_ext  # pylint: disable=import-outside-toplevel

    now = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    lines = []
    for hours_ago in range(30, -1, -1):
        stamp = (now - dt.timedelta(hours=hours_ago)).strftime("%Y-%m-%d %H:%M:%S UTC")
        lines.append(f"{stamp}:10.0.0.{hours_ago}(5000):app@orders:[{hours_ago + 100}]:LOG:  checkpoint {hours_ago}\n")
    log = tmp_path / "postgresql.log"
    log.write_text("".join(lines), encoding="utf-8")
    key = (logs.sim.fleet.account_id, "us-east-1", "unlinked")
    rds_ext.STATE.log_sources[key] = log
    try:
        client = logs.client()
        first = client.describe_db_log_files(DBInstanceIdentifier="unlinked", MaxRecords=20)
        assert len(first["DescribeDBLogFiles"]) == 20 and first["Marker"]
        rest = client.describe_db_log_files(DBInstanceIdentifier="unlinked", MaxRecords=20, Marker=first["Marker"])
        names = [f["LogFileName"] for f in first["DescribeDBLogFiles"] + rest["DescribeDBLogFiles"]]
        assert len(names) == 31 == len(set(names)) and "Marker" not in rest
        assert names[-1] == "error/postgresql.log." + now.strftime("%Y-%m-%d-%H")
        since = int((now - dt.timedelta(hours=2, minutes=30)).timestamp() * 1000)
        recent = client.describe_db_log_files(DBInstanceIdentifier="unlinked", FileLastWritten=since)["DescribeDBLogFiles"]
        assert len(recent) == 3
        hour = now.strftime("%Y-%m-%d-%H")
        assert [f["LogFileName"] for f in client.describe_db_log_files(
            DBInstanceIdentifier="unlinked", FilenameContains=hour)["DescribeDBLogFiles"]] == [f"error/postgresql.log.{hour}"]
        assert client.describe_db_log_files(DBInstanceIdentifier="unlinked", FileSize=10**6)["DescribeDBLogFiles"] == []
        with pytest.raises(botocore.exceptions.ClientError) as err:
            client.describe_db_log_files(DBInstanceIdentifier="unlinked", MaxRecords=5)
        assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
        # A marker of one file does not read another.
        part = client.download_db_log_file_portion(DBInstanceIdentifier="unlinked", LogFileName=names[0], Marker="0",
                                                   NumberOfLines=1)
        with pytest.raises(botocore.exceptions.ClientError):
            client.download_db_log_file_portion(DBInstanceIdentifier="unlinked", LogFileName=names[1],
                                                Marker=part["Marker"], NumberOfLines=1)
        # Past rds.log_retention_period (4320 minutes here): gone.
        old = (now - dt.timedelta(days=4)).strftime("%Y-%m-%d %H:%M:%S UTC")
        log.write_text(f"{old}::@:[1]:LOG:  ancient\n" + "".join(lines), encoding="utf-8")
        assert len(client.describe_db_log_files(DBInstanceIdentifier="unlinked")["DescribeDBLogFiles"]) == 31
    finally:
        rds_ext.STATE.log_sources.pop(key, None)
