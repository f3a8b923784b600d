"""Issue 16: one name per concept across the modules; every former name still works, as a deprecated alias.

The argument specs are the modules' own (``argument_spec()``), validated by Ansible's own validator, so the
test sees what a playbook gets: the value under the new name, and a deprecation naming the former one.
"""

from __future__ import annotations

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.rdsca.rotation.plugins.module_utils.option_names import REMOVED_IN
from ansible_collections.rdsca.rotation.plugins.modules import rds_ca_bundle
from ansible_collections.rdsca.rotation.plugins.modules import rds_ca_rotate
from ansible_collections.rdsca.rotation.plugins.modules import rds_ca_trust_verify
from ansible_collections.rdsca.rotation.plugins.modules import rds_ssl_usage

FORMER = [
    # (module's argument_spec, parameters with the former names, what the new names hold)
    (rds_ssl_usage.argument_spec, {"identifier": "db", "ca_bundle": "/b.pem", "max_workers": 3, "probe_workers": 9},
     {"ca_cert": "/b.pem", "concurrency": 3, "probe_concurrency": 9}),
    (rds_ca_rotate.argument_spec, {"databases": ["db"], "verify_ca_bundle": "/b.pem", "max_concurrent": 2},
     {"ca_cert": "/b.pem", "concurrency": 2}),
    (rds_ca_bundle.argument_spec, {"ca_path": "/b.pem", "target_ca": ["rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"]},
     {"ca_cert": "/b.pem", "target_cas": ["rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"]}),
]


@pytest.mark.parametrize("spec, params, expected", FORMER, ids=["rds_ssl_usage", "rds_ca_rotate", "rds_ca_bundle"])
def test_former_names_still_work_and_are_deprecated(spec, params, expected):
    result = ArgumentSpecValidator(spec()).validate(dict(params))
    assert not result.error_messages
    for name, value in expected.items():
        assert result.validated_parameters[name] == value, name
    deprecated = sorted(d["msg"].split("'")[1] for d in result._deprecations)  # "Alias 'x' is deprecated..."
    assert deprecated == sorted(set(params) - {"identifier", "databases"})
    assert all(d["version"] == REMOVED_IN and d["collection_name"] == "rdsca.rotation" for d in result._deprecations)


def test_new_names_raise_no_deprecation():
    result = ArgumentSpecValidator(rds_ca_rotate.argument_spec()).validate(
        {"databases": ["db"], "ca_cert": "/b.pem", "concurrency": 2})
    assert not result.error_messages and not result._deprecations


def test_target_ca_is_a_string_and_rds_ca_bundle_takes_one_as_a_list_of_one():
    """target_ca is one CA (a string) in rds_ca_facts and rds_ca_rotate; rds_ca_bundle's list is target_cas,
    and the same string given to it (under either name) is a list of one."""
    assert rds_ca_rotate.argument_spec()["target_ca"]["type"] == "str"
    for name in ("target_cas", "target_ca"):
        result = ArgumentSpecValidator(rds_ca_bundle.argument_spec()).validate({name: "rds-ca-rsa4096-g1"})
        assert not result.error_messages
        assert result.validated_parameters["target_cas"] == ["rds-ca-rsa4096-g1"]


@pytest.fixture
def verify(module_runner):
    return module_runner(rds_ca_trust_verify)


def test_rds_ca_trust_verify_former_names(verify, tmp_path):
    """endpoints[].ca_file and fail_on_error still work: the CA file is used, and failures only warn."""
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("")
    done = verify(endpoints=[{"server_name": "db.example.invalid", "port": 1, "connect_host": "127.0.0.1",
                              "ca_file": str(ca_file)}], fail_on_error=False, timeout=2)
    assert done.kind == "exit", done.result
    assert done.result["endpoints"][0]["trust"] == str(ca_file)
    assert done.result["failed_endpoints"] == ["db.example.invalid"]
