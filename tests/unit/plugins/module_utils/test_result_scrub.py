"""result_scrub: exit_json's no_log scrubbing without the full copy, exactly as safe as Ansible's (issue 20)."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common import parameters
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.rdsca.rotation.plugins.module_utils import result_scrub
from ansible_collections.rdsca.rotation.plugins.modules import rds_ca_facts

SECRET = "Sup3r-S3cret/Key+0123456789abcdefXYZ"
EXTERNAL_ID = "ext-id-7f3a9c"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLEsessionTOKEN"
MASK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def records(n, extra=None):
    """rds_ca_facts-like records (strings, numbers, booleans, None, lists, dicts)."""
    out = []
    for i in range(n):
        out.append({
            "identifier": "db-%d" % i, "region": "us-east-1", "endpoint_port": 5432, "ca_days_left": 12592 - i,
            "multi_az": False, "cluster_id": None, "supported_cas": ["rds-ca-rsa2048-g1", "rds-ca-ecc384-g1"],
            "tags": {"Environment": "prod", "Owner": "team-%d" % i}, "ratio": 0.5 + i,
        })
    if extra:
        out[-1].update(extra)
    return out


def run_exit(capsys, module_factory, args, result, fast):
    """The JSON text a module prints when it exits with ``result`` (fast: through result_scrub)."""
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))  # pylint: disable=protected-access
    basic._ANSIBLE_PROFILE = "legacy"  # pylint: disable=protected-access
    module = module_factory()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        if fast:
            result_scrub.exit_json(module, **json.loads(json.dumps(result)))
        else:
            module.exit_json(**json.loads(json.dumps(result)))
    assert exited.value.code == 0
    return capsys.readouterr().out.strip()


def plain_module():
    return basic.AnsibleModule(argument_spec=dict(token=dict(type="str", no_log=True), name=dict(type="str")))


def aws_module():
    return rds_ca_facts.AnsibleAWSModule(argument_spec=rds_ca_facts.argument_spec(), supports_check_mode=True)


AWS_ARGS = {"region": "us-east-1", "access_key": "AKIAEXAMPLE000000000", "secret_key": SECRET, "session_token": SESSION_TOKEN,
            "accounts": [{"account_id": "111122223333", "role_arn": "arn:aws:iam::111122223333:role/audit",
                          "external_id": EXTERNAL_ID}]}


@pytest.mark.parametrize("extra", [
    None,                                                   # nothing to scrub in the records: the fast path
    {"endpoint_address": "host-" + SECRET + ".example"},    # a secret inside a string
    {"tags": {"Leak": SECRET}},                             # a secret as a whole value, nested
    {"note": "quote\" back\\slash\n" + SECRET},              # characters JSON escapes around it
])
def test_fast_exit_prints_exactly_what_the_standard_exit_prints(capsys, extra):
    result = {"changed": False, "databases": records(50, extra), "summary": {"databases": 50}}
    standard = run_exit(capsys, plain_module, {"token": SECRET, "name": "x"}, result, fast=False)
    fast = run_exit(capsys, plain_module, {"token": SECRET, "name": "x"}, result, fast=True)
    assert fast == standard
    assert SECRET not in fast
    assert json.loads(fast)["invocation"]["module_args"]["token"] == MASK


def test_a_secret_in_a_record_comes_out_masked(capsys):
    result = {"changed": False, "databases": records(3, {"endpoint_address": "x" + SECRET, "environment": SECRET})}
    out = json.loads(run_exit(capsys, plain_module, {"token": SECRET}, result, fast=True))
    last = out["databases"][-1]
    assert last["endpoint_address"] == "x********"
    assert last["environment"] == MASK
    assert out["databases"][0] == records(3)[0]  # the others untouched


def test_aws_module_secret_key_and_external_id_are_masked_in_the_result(capsys):
    """rds_ca_facts' own options: secret_key and session_token (amazon.aws) and accounts[].external_id are no_log."""
    extra = {"tags": {"a": "k=" + SECRET, "b": EXTERNAL_ID}, "reason": "id " + EXTERNAL_ID + " used", "status": SESSION_TOKEN}
    result = {"changed": False, "databases": records(20, extra), "accounts": [{"account": "111122223333"}]}
    standard = run_exit(capsys, aws_module, AWS_ARGS, result, fast=False)
    fast = run_exit(capsys, aws_module, AWS_ARGS, result, fast=True)
    assert fast == standard
    assert SECRET not in fast and EXTERNAL_ID not in fast and SESSION_TOKEN not in fast
    last = json.loads(fast)["databases"][-1]
    assert last["tags"] == {"a": "k=********", "b": MASK}
    assert last["status"] == MASK
    assert last["reason"] == "id ******** used"


def test_numbers_that_contain_a_secret_are_masked_as_the_standard_walk_does(capsys):
    result = {"changed": False, "databases": records(2, {"endpoint_port": 987654, "ratio": 12.5}), "count": 4321}
    for token in ("9876", "2.5", "4321"):
        standard = run_exit(capsys, plain_module, {"token": token}, result, fast=False)
        fast = run_exit(capsys, plain_module, {"token": token}, result, fast=True)
        assert fast == standard
        assert MASK in fast


@pytest.mark.parametrize("value", [
    {"a": [1, 2.5, "x" + SECRET, None, True, {"k": (SECRET, 3)}], "b": "clean"},
    {"nan": float("nan"), "text": SECRET},          # JSON cannot say NaN exactly: the standard walk
    {"set": {"a", SECRET}, "fine": ["b"]},          # nor a set
    {"empty": [], "nested": {"deeper": {"deepest": [SECRET[:10], SECRET]}}},
    ["not", "a", "dict", SECRET],
    SECRET,
])
def test_scrub_equals_remove_values(value):
    no_log = {SECRET, "unrelated-value"}
    expected = parameters.remove_values(value, no_log)
    got = result_scrub.scrub(value, no_log)
    assert repr(got) == repr(expected)


def test_scrub_keeps_clean_values_and_walks_the_rest():
    clean = records(5)
    dirty = {"x": SECRET}
    out = result_scrub.scrub({"clean": clean, "dirty": dirty}, {SECRET})
    assert out["clean"] is clean           # nothing to remove: not copied
    assert out["dirty"] == {"x": MASK}     # the standard walk
    assert dirty == {"x": SECRET}          # the input is not changed


def test_an_empty_no_log_value_takes_the_standard_walk():
    value = {"a": "text"}
    assert result_scrub.scrub(value, {""}) == parameters.remove_values(value, {""})


def test_fast_scrub_puts_the_standard_function_back(capsys):
    run_exit(capsys, plain_module, {"token": SECRET}, {"changed": False}, fast=True)  # exit_json exited inside
    assert basic.remove_values is parameters.remove_values
    with result_scrub.fast_scrub():
        assert basic.remove_values is result_scrub.scrub
    assert basic.remove_values is parameters.remove_values
