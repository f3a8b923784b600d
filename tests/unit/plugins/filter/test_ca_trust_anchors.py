"""ca_trust_anchors: what the ca_trust role hands each host's rds_ca_trust_store run (issue 19).

Built on the real result of rds_ca_bundle for the real AWS bundle when the shared data is there.
"""

from __future__ import annotations

import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rdsca.rotation.plugins.filter.ca_trust_anchors import FilterModule

ca_trust_anchors = FilterModule().filters()["ca_trust_anchors"]
SHARED = os.environ.get("RDSCA_SHARED_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..",
                                                          "shared", "data", "rds-ca"))


def cert(name, **more):
    return dict({"name": name, "pem": "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % name,
                 "sha1": name[:4], "sha256": "x", "subject": "CN=" + name, "not_after": "2061-01-01"}, **more)


def test_only_name_pem_and_sha1_travel_and_targets_are_the_regions_cas():
    bundle = {"certificates": [cert("a"), cert("b"), cert("c")],
              "targets": [{"name": "b", "region": "eu-west-1"}, {"name": "b", "region": "eu-west-2"}, {"name": "a"}]}
    out = ca_trust_anchors(bundle)
    assert out["certificates"] == [{k: cert(n)[k] for k in ("name", "pem", "sha1")} for n in "abc"]
    assert out["targets"] == ["b", "a"]


def test_without_regions_every_certificate_is_a_target_and_extra_ones_are_added():
    ats = [cert("amazon-trust-services-amazon-root-ca-1")]
    out = ca_trust_anchors({"certificates": [cert("a"), cert("b")], "targets": []}, extra=ats)
    assert [c["name"] for c in out["certificates"]] == ["a", "b", "amazon-trust-services-amazon-root-ca-1"]
    assert out["targets"] == ["a", "b", "amazon-trust-services-amazon-root-ca-1"]


@pytest.mark.parametrize("bundle, message", [
    ("not a dict", "registered result of rds_ca_bundle"),
    ({"targets": []}, "the bundle's certificates must be a list"),
    ({"certificates": [{"name": "a"}]}, "each with a name and a pem"),
])
def test_bad_input_is_refused(bundle, message):
    with pytest.raises(AnsibleFilterError, match=message):
        ca_trust_anchors(bundle)


def test_the_real_bundle_keeps_every_pem():
    path = os.path.join(SHARED, "global-bundle.pem")
    if not os.path.exists(path):
        pytest.skip("the real AWS bundle %s is absent (set RDSCA_SHARED_DATA)" % path)
    from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import split_pem
    with open(path, encoding="ascii") as handle:
        blocks = split_pem(handle.read())["blocks"]
    bundle = {"certificates": [dict(cert("ca-%03d" % i), pem=b["pem"]) for i, b in enumerate(blocks)], "targets": []}
    out = ca_trust_anchors(bundle)
    assert [c["pem"] for c in out["certificates"]] == [b["pem"] for b in blocks]
    assert len(out["targets"]) == len(blocks) > 100
