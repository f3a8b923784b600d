"""Issue 19: the reports outlive the job's container - real playbook runs against the simulator (moto serves S3 too).

- every run publishes its report files as job artifacts (set_stats: AWX shows them and passes them on in a
  workflow), with the summary counts;
- with rdsca_report_s3_bucket, the JSON, Markdown and HTML reports are uploaded (amazon.aws.s3_object, encrypted at
  rest), also by a run that fails: the upload comes before the run is failed for what its report says.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

TARGET = "rds-ca-rsa2048-g1"
OLD = "rds-ca-2019"
BUCKET = "rdsca-reports-test"
FLEET = {
    "description": "reports published: two databases, one region",
    "timing": {"modify_seconds": 0.2, "reboot_seconds": 0.2},
    "regions": {"us-east-1": {"default_ca": TARGET, "instances": [
        {"id": "pub-staging", "engine": "postgres", "engine_version": "16.3", "ca": OLD, "tags": {"Environment": "staging"}},
        {"id": "pub-prod", "engine": "postgres", "engine_version": "16.3", "ca": OLD, "tags": {"Environment": "production"}},
    ]}},
}


@pytest.fixture
def estate(simulator, tmp_path, monkeypatch):
    simulator.load(FLEET)
    s3 = simulator.client("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    # The json callback: the run's custom stats (set_stats) come back as data.
    monkeypatch.setenv("ANSIBLE_STDOUT_CALLBACK", "ansible.posix.json")
    monkeypatch.setenv("ANSIBLE_SHOW_CUSTOM_STATS", "1")
    settings = {"rdsca_regions": ["us-east-1"], "rdsca_target_ca": TARGET, "rdsca_report_dir": str(tmp_path / "reports"),
                "rdsca_verify": "none", "rdsca_ssl_usage": False, "rdsca_poll_interval": 0.5, "rdsca_client_verify": False}
    return simulator, s3, settings


def _run(simulator, playbook: str, **extra: Any) -> tuple[int, dict[str, Any], str]:
    result = simulator.run_playbook("rdsca.rotation." + playbook, extra_vars=extra)
    try:
        data = json.loads(result.stdout)
    except ValueError:
        pytest.fail("no JSON output: %s %s" % (result.stdout[-3000:], result.stderr[-2000:]))
    return result.rc, data.get("global_custom_stats", {}), result.stdout[-3000:] + result.stderr[-2000:]


def test_an_audit_publishes_its_report_files_and_uploads_them(estate):
    simulator, s3, settings = estate
    extra = dict(settings, rdsca_report_s3_bucket=BUCKET, rdsca_report_s3_prefix="audits/")
    rc, stats, output = _run(simulator, "audit.yml", **extra)
    assert rc == 0, output
    files = stats["rdsca_report_files"]
    assert files["outcome"] == stats["rdsca_last_report"]["outcome"] and files["databases"] == 2
    assert sum(files["by_status"].values()) == 2
    local = [files["json"], files["markdown"], files["html"]]
    assert [os.path.splitext(p)[1] for p in local] == [".json", ".md", ".html"]
    assert all(os.path.dirname(p) == settings["rdsca_report_dir"] and os.path.isfile(p) for p in local)
    assert files["s3"] == ["s3://%s/audits/%s" % (BUCKET, os.path.basename(p)) for p in local]
    for path in local:
        obj = s3.get_object(Bucket=BUCKET, Key="audits/" + os.path.basename(path))
        with open(path, "rb") as handle:
            assert obj["Body"].read() == handle.read(), path
        assert obj["ServerSideEncryption"] == "AES256"


def test_without_a_bucket_nothing_is_uploaded(estate):
    simulator, s3, settings = estate
    rc, stats, output = _run(simulator, "audit.yml", **settings)
    assert rc == 0, output
    assert stats["rdsca_report_files"]["s3"] == []
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_a_failed_run_still_uploads_its_report(estate):
    """A rotation stopped at pre-flight (an expired target CA) fails the job, after its report is uploaded."""
    simulator, s3, settings = estate
    extra = dict(settings, rdsca_target_ca=OLD, rdsca_report_s3_bucket=BUCKET)
    rc, stats, output = _run(simulator, "rotate.yml", **extra)
    assert rc != 0, output
    files = stats["rdsca_report_files"]
    assert files["outcome"] == "stopped"
    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == sorted("rdsca-reports/" + os.path.basename(files[k]) for k in ("json", "markdown", "html"))
    report = json.loads(s3.get_object(Bucket=BUCKET, Key="rdsca-reports/" + os.path.basename(files["json"]))["Body"].read())
    assert report["outcome"] == "stopped" and report["stop"]["step"] == "pre-flight"


def test_a_bad_bucket_name_stops_the_rotation_before_any_change(estate):
    """A bucket name S3 would refuse is found in the settings, not at the upload after the rotation."""
    simulator, s3, settings = estate
    extra = dict(settings, rdsca_report_s3_bucket="Reports_Bucket")
    result = simulator.run_playbook("rdsca.rotation.rotate.yml", extra_vars=extra)
    assert result.rc != 0
    assert "is not an S3 bucket name" in result.stdout, result.stdout[-3000:]
    rds = simulator.client("rds")
    cas = {db["DBInstanceIdentifier"]: db["CACertificateIdentifier"] for db in rds.describe_db_instances()["DBInstances"]}
    assert cas == {"pub-staging": OLD, "pub-prod": OLD}
