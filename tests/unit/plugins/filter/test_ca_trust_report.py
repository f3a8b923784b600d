"""ca_trust_report: one client host's report from its trust stores' results (issue 19: one task, not a loop)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rdsca.rotation.plugins.filter.ca_trust_report import FilterModule

ca_trust_report = FilterModule().filters()["ca_trust_report"]

SYSTEM = {"type": "directory", "label": "system (debian)", "store": "/usr/local/share/ca-certificates",
          "changed": True, "missing": ["rds-ca-rsa2048-g1"], "added": ["rds-ca-rsa2048-g1"], "updated": [],
          "removed": ["amazon-rds-2019"], "present": ["x"], "refresh": False}
BUNDLE = {"type": "file", "label": "bundle file /etc/ssl/rds.pem", "store": "/etc/ssl/rds.pem", "changed": False,
          "missing": [], "added": [], "removed": []}
WINDOWS = {"label": "Windows LocalMachine\\Root", "store": "LocalMachine\\Root", "missing": ["rds-ca-ecc384-g1"],
           "added": [], "removed": [], "changed": False}


def test_every_labelled_store_and_what_each_lacked():
    report = ca_trust_report([SYSTEM, BUNDLE, {"type": "file", "skipped": True}], audit=False, platform="debian",
                             targets=["rds-ca-rsa2048-g1"])
    assert report == {
        "mode": "install", "platform": "debian", "targets": ["rds-ca-rsa2048-g1"],
        "stores": {"system (debian)": {"path": "/usr/local/share/ca-certificates", "missing": ["rds-ca-rsa2048-g1"],
                                       "added": ["rds-ca-rsa2048-g1"], "updated": [], "removed": ["amazon-rds-2019"]},
                   "bundle file /etc/ssl/rds.pem": {"path": "/etc/ssl/rds.pem", "missing": [], "added": [],
                                                    "updated": [], "removed": []}},
        "missing": {"system (debian)": ["rds-ca-rsa2048-g1"]}}


def test_audit_mode_and_the_windows_store():
    report = ca_trust_report([WINDOWS], audit=True, platform="windows", targets=["rds-ca-ecc384-g1"])
    assert report["mode"] == "audit" and report["platform"] == "windows"
    assert report["missing"] == {"Windows LocalMachine\\Root": ["rds-ca-ecc384-g1"]}


def test_a_host_with_no_stores_lacks_nothing():
    assert ca_trust_report([], platform="macos") == {"mode": "install", "platform": "macos", "targets": [],
                                                     "stores": {}, "missing": {}}


@pytest.mark.parametrize("stores", ["not a list", [None], [["label"]]])
def test_bad_input_is_refused(stores):
    with pytest.raises(AnsibleFilterError, match="list of trust store results"):
        ca_trust_report(stores)
