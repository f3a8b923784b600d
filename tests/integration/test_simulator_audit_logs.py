"""DescribeDBLogFiles / DownloadDBLogFilePortion served from a linked MariaDB server's real audit log (the
MARIADB_AUDIT_PLUGIN option of its option group; issue 18, MySQL/MariaDB)."""

from __future__ import annotations

import copy
import re

import pytest

from tests.simulator.fleet import FleetError, parse_fleet
from tests.simulator.linked import audit_plugin_available

pymysql = pytest.importorskip("pymysql")

REGION = "us-east-1"
FLEET = {
    "regions": {
        REGION: {
            "option_groups": [
                {"name": "maria-audit", "engine": "mariadb", "major_engine_version": "10.11",
                 "options": {"MARIADB_AUDIT_PLUGIN": {"SERVER_AUDIT_EVENTS": "CONNECT"}}},
                {"name": "maria-plain", "engine": "mariadb", "major_engine_version": "10.11", "options": {}},
            ],
            "instances": [
                {"id": "audited", "engine": "mariadb", "engine_version": "10.11.8", "linked": "mariadb",
                 "option_group": "maria-audit"},
                {"id": "unaudited", "engine": "mariadb", "engine_version": "10.11.8", "linked": "mariadb",
                 "option_group": "maria-plain"},
            ],
        },
    },
}
# "[timestamp],[serverhost],[username],[host],[connectionid],[queryid],[operation],[database],[object],[retcode]"
# (MariaDB KB, "MariaDB Audit Plugin - Log Format").
AUDIT_LINE = re.compile(r"^\d{8} \d{2}:\d{2}:\d{2},[^,]*,(?P<user>[^,]*),(?P<host>[^,]*),\d+,\d+,"
                        r"(?P<op>CONNECT|FAILED_CONNECT|DISCONNECT),[^,]*,[^,]*,(?P<ret>\d+)$")


@pytest.fixture(scope="module")
def audit(simulator):
    ok, reason = audit_plugin_available()
    if not ok:
        pytest.skip(reason)
    simulator.load(FLEET)
    yield simulator


def _connect(sim, db_id, tls, password=None):
    info = sim.control("GET", "/_sim/linked")[f"{REGION}/{db_id}"]
    kwargs: dict = {"ssl_disabled": True}  # PyMySQL otherwise tries TLS first ("PREFERRED")
    if tls:
        # The chain is verified; the name is the endpoint's, not 127.0.0.1.
        kwargs = {}
        kwargs["ssl"] = {"ca": sim.control("GET", "/_sim/bundle")["path"], "check_hostname": False}
    conn = pymysql.connect(host="127.0.0.1", port=info["port"], user="admin", connect_timeout=10,
                           password=password or info["admin_password"], **kwargs)
    conn.close()


def test_audit_files_are_listed_and_hold_the_real_connect_events(audit):
    _connect(audit, "audited", tls=True)
    _connect(audit, "audited", tls=False)
    with pytest.raises(pymysql.err.OperationalError):
        _connect(audit, "audited", tls=False, password="wrong-password")
    client = audit.client()
    files = client.describe_db_log_files(DBInstanceIdentifier="audited")["DescribeDBLogFiles"]
    assert [f["LogFileName"] for f in files] == ["audit/server_audit.log"]
    assert files[0]["Size"] > 0 and files[0]["LastWritten"] > 0
    part = client.download_db_log_file_portion(DBInstanceIdentifier="audited", LogFileName="audit/server_audit.log",
                                               Marker="0", NumberOfLines=1000)
    events = [m.groupdict() for m in map(AUDIT_LINE.match, part["LogFileData"].splitlines()) if m]
    tcp = [e for e in events if e["host"] == "127.0.0.1" and e["user"] == "admin"]
    assert [e["op"] for e in tcp].count("CONNECT") >= 2 and "DISCONNECT" in [e["op"] for e in tcp]
    assert any(e["op"] == "FAILED_CONNECT" and e["ret"] == "1045" for e in tcp)
    # The audit log has no TLS field: the TLS and the plaintext connection look the same.
    assert "TLS" not in part["LogFileData"] and "SSL" not in part["LogFileData"]


def test_markers_page_through_an_audit_file(audit):
    for _n in range(3):
        _connect(audit, "audited", tls=False)
    client = audit.client()
    marker, chunks = "0", []
    while True:
        part = client.download_db_log_file_portion(DBInstanceIdentifier="audited",
                                                   LogFileName="audit/server_audit.log", Marker=marker, NumberOfLines=2)
        chunks.append(part["LogFileData"])
        marker = part["Marker"]
        if not part["AdditionalDataPending"]:
            break
    assert len(chunks) > 2 and all(len(c.splitlines()) <= 2 for c in chunks)
    whole = client.download_db_log_file_portion(DBInstanceIdentifier="audited", LogFileName="audit/server_audit.log",
                                                Marker="0", NumberOfLines=10000)["LogFileData"]
    assert "".join(chunks).startswith(whole[:200]) and len("".join(chunks)) >= len(whole)


def test_without_the_audit_option_there_is_no_audit_file(audit):
    _connect(audit, "unaudited", tls=False)
    client = audit.client()
    files = client.describe_db_log_files(DBInstanceIdentifier="unaudited")["DescribeDBLogFiles"]
    assert [f for f in files if f["LogFileName"].startswith("audit/")] == []
    with pytest.raises(client.exceptions.ClientError) as caught:
        client.download_db_log_file_portion(DBInstanceIdentifier="unaudited", LogFileName="audit/server_audit.log",
                                            Marker="0")
    assert "DBLogFileNotFound" in str(caught.value)


@pytest.mark.parametrize("change,words", [
    (lambda f: f["regions"][REGION]["instances"][0].update(option_group="nope"),
     "audited uses option group 'nope', which is not an option group of engine mariadb"),
    (lambda f: f["regions"][REGION]["option_groups"][0].update(engine="postgres"),
     "audited uses option group 'maria-audit', which is not an option group of engine mariadb"),
    (lambda f: f["regions"][REGION]["option_groups"][0].update(options=["MARIADB_AUDIT_PLUGIN"]),
     "option_groups[0].options: a mapping"),
    (lambda f: f["regions"][REGION]["option_groups"][0].pop("major_engine_version"),
     "'name', 'engine' and 'major_engine_version' are required"),
])
def test_bad_option_groups_in_a_fleet_fail_with_their_path(change, words):
    bad = copy.deepcopy(FLEET)
    change(bad)
    with pytest.raises(FleetError) as caught:
        parse_fleet(bad)
    assert words in str(caught.value)
    assert parse_fleet(copy.deepcopy(FLEET)).option_groups[0]["options"] == {
        "MARIADB_AUDIT_PLUGIN": {"SERVER_AUDIT_EVENTS": "CONNECT"}}
