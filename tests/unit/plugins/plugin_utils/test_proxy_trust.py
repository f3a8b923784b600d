"""What clients must trust, by how they connect (issue 17): directly (the new RDS CA), through an RDS Proxy
(Amazon Trust Services, unchanged by a rotation), or to a Neptune endpoint (ACM, as the Neptune User Guide says)."""

from __future__ import annotations

from ansible_collections.rdsca.rotation.plugins.filter.report_html import FilterModule as Html
from ansible_collections.rdsca.rotation.plugins.filter.report_lines import FilterModule as Lines
from ansible_collections.rdsca.rotation.plugins.filter.report_markdown import FilterModule as Markdown
from ansible_collections.rdsca.rotation.plugins.filter.run_report import FilterModule as Report
from ansible_collections.rdsca.rotation.plugins.plugin_utils.proxy_trust import client_trust, trust_notes
from ansible_collections.rdsca.rotation.tests.unit.plugins.plugin_utils.fleet_results import audit_input

TARGET = "rds-ca-rsa2048-g1"


def test_direct_clients_trust_the_new_rds_ca_proxy_clients_amazon_trust_services():
    behind = client_trust({"endpoint_certificate": "rds_ca", "proxied_by": ["orders-proxy"]}, TARGET)
    assert (behind["direct"], behind["through_proxies"], behind["changes_with_rotation"]) == (
        TARGET, "Amazon Trust Services", True)
    assert "directly must trust rds-ca-rsa2048-g1" in behind["text"] and "orders-proxy" in behind["text"]
    alone = client_trust({"endpoint_certificate": "rds_ca", "proxied_by": []}, TARGET)
    assert (alone["through_proxies"], alone["proxies"]) == (None, [])
    # Proxies not read (rds_ca_facts proxies=false, or a region whose proxies could not be read): not known.
    assert client_trust({"endpoint_certificate": "rds_ca"}, TARGET)["through_proxies"] == "unknown"
    assert client_trust({"proxied_by": None}, TARGET)["through_proxies"] == "unknown"


def test_neptune_acm_endpoint_is_not_claimed_to_change_what_clients_trust():
    neptune = client_trust({"endpoint_certificate": "acm", "proxied_by": []}, TARGET)
    assert (neptune["direct"], neptune["changes_with_rotation"]) == ("Amazon Trust Services", False)
    assert "does not change what its clients must trust" in neptune["text"]


def test_a_neptune_endpoint_seen_presenting_an_rds_ca_is_not_said_to_keep_its_acm_certificate():
    seen = client_trust({"endpoint_certificate": "acm", "proxied_by": []}, TARGET, presented_ca="rds-ca-2019")
    assert (seen["direct"], seen["changes_with_rotation"]) == (TARGET, True)
    assert "seen presenting a certificate of rds-ca-2019" in seen["text"] and "must trust %s" % TARGET in seen["text"]
    assert trust_notes([{"label": "eu-west-1/graph-1", "client_trust": seen}]) == []
    # An RDS CA endpoint stays what it is, whatever was seen.
    assert client_trust({"endpoint_certificate": "rds_ca"}, TARGET, presented_ca="rds-ca-2019")["direct"] == TARGET


def test_the_report_takes_what_the_probes_saw_over_what_neptune_documents():
    data = audit_input(20)
    # Two Neptune instances: the first seen by the discovery probe presenting an RDS CA chain, the second not probed.
    for index in (0, 1):
        data["databases"][index].update(engine="neptune", endpoint_certificate="acm")
    label = data["databases"][0]["label"]
    data["usage"] = {"databases": [dict(label=label, identifier=data["databases"][0]["identifier"],
                                        region=data["databases"][0]["region"],
                                        probe={"presented_ca": "rds-ca-2019", "verified": False})]}
    report = Report().filters()["run_report"](data)
    rows = dict((r["label"], r) for r in report["databases"])
    assert rows[label]["client_trust"]["changes_with_rotation"] is True
    assert rows[data["databases"][1]["label"]]["client_trust"]["changes_with_rotation"] is False


def test_notes_only_when_there_is_something_to_say():
    assert trust_notes([{"client_trust": client_trust({"proxied_by": []}, TARGET)}]) == []
    notes = trust_notes([{"label": "us-east-1/orders", "client_trust": client_trust({"proxied_by": ["orders-proxy"]})},
                         {"label": "eu-west-1/graph-1", "client_trust": client_trust({"endpoint_certificate": "acm"})}])
    assert len(notes) == 2 and "RDS Proxy (orders-proxy)" in notes[0] and "Neptune (eu-west-1/graph-1)" in notes[1]


def test_the_report_says_it_in_every_form():
    data = audit_input(20)
    data["databases"][0]["proxied_by"] = ["orders-proxy"]
    report = Report().filters()["run_report"](data)
    row = next(r for r in report["databases"] if r["label"] == data["databases"][0]["label"])
    assert row["client_trust"]["through_proxies"] == "Amazon Trust Services"
    for text in (Markdown().filters()["report_markdown"](report), Html().filters()["report_html"](report),
                 "\n".join(Lines().filters()["report_lines"](report, "/tmp/report"))):
        assert "RDS Proxy (orders-proxy)" in text and "Amazon Trust Services" in text
