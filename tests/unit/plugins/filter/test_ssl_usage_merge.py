"""ssl_usage_merge: rds_ssl_usage looped over slices (progress, issue 20) gives back the result of one call."""

from __future__ import annotations

import socket

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rdsca.rotation.plugins.filter.ssl_usage_merge import FilterModule
from ansible_collections.rdsca.rotation.plugins.module_utils import ssl_usage

ssl_usage_merge = FilterModule().filters()["ssl_usage_merge"]


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def results(count):
    """Real inspect_database answers: endpoints on closed ports, one with an unknown engine, one stopped."""
    out = []
    for i in range(count):
        item = {"identifier": "db-%d" % i, "region": "eu-west-1" if i % 2 else "us-east-1", "engine_version": "16.3",
                "engine": "oracle-ee" if i == 3 else "postgres", "endpoint_address": "db-%d.example" % i,
                "endpoint_port": 5432, "connect_host": "127.0.0.1", "connect_port": closed_port(),
                "status": "stopped" if i == 4 else "available"}
        target = dict(ssl_usage.normalize_target(item), aws_error=None,
                      enforcement_group={"name": "g", "type": "instance", "apply_status": "in-sync",
                                         "value": "1" if i % 3 else None, "source": "user"})
        out.append(ssl_usage.inspect_database(target, {"timeout": 2, "connect_timeout": 1}))
    return out


def slice_result(databases, calls):
    return {"changed": False, "databases": databases, "summary": ssl_usage.summarize(databases), "api_calls": calls}


def test_slices_merge_into_what_one_call_returns():
    everything = results(7)
    registered = {"results": [
        slice_result(everything[:3], {"us-east-1": {"DescribeDBInstances": 1, "DescribeDBParameters": 1},
                                      "eu-west-1": {"DescribeDBInstances": 1}}),
        {"skipped": True, "item": []},
        dict(slice_result(everything[3:], {"us-east-1": {"DescribeDBInstances": 1}}), failed=True,
             msg="4 of 4 database(s) could not be fully inspected"),
    ]}
    merged = ssl_usage_merge(registered)
    assert merged["databases"] == everything
    assert merged["summary"] == ssl_usage.summarize(everything)
    assert merged["summary"]["databases"] == 7 and merged["summary"]["errors"] == 7
    assert merged["api_calls"] == {"us-east-1": {"DescribeDBInstances": 2, "DescribeDBParameters": 1},
                                   "eu-west-1": {"DescribeDBInstances": 1}}
    assert (merged["slices"], merged["failed_slices"], merged["changed"]) == (2, 1, False)
    assert ssl_usage_merge(registered["results"]) == merged  # the results list works too


def test_nothing_ran():
    merged = ssl_usage_merge({"results": [{"skipped": True}]})
    assert merged["databases"] == [] and merged["summary"]["databases"] == 0 and merged["slices"] == 0


@pytest.mark.parametrize("bad", [None, "text", {"results": "x"}, [1, 2], {"results": [{"msg": "boom", "failed": True}]}])
def test_anything_else_is_refused_with_a_sentence(bad):
    with pytest.raises(AnsibleFilterError, match="ssl_usage_merge"):
        ssl_usage_merge(bad)


def test_no_chunk_is_an_empty_result_the_playbooks_read_as_no_evidence():
    """playbooks/tasks/ssl_usage.yml merges zero chunks when there is nothing to inspect (rdsca_ssl_usage false)."""
    merged = ssl_usage_merge([])
    assert merged["databases"] == [] and merged["slices"] == 0 and merged["summary"]["databases"] == 0


def test_an_account_every_chunk_could_not_enter_is_listed_once():
    """Issue 17's failed_accounts: each chunk of a run meets the same refusing account."""
    denied = {"account": "333333333333", "role_arn": "arn:aws:iam::333333333333:role/x", "error_code": "AccessDenied",
              "message": "not authorized"}
    other = dict(denied, account="444444444444")
    chunks = [slice_result([], {}), dict(slice_result([], {}), failed_accounts=[denied]),
              dict(slice_result([], {}), failed_accounts=[denied, other])]
    assert ssl_usage_merge(chunks)["failed_accounts"] == [denied, other]
    assert ssl_usage_merge([slice_result([], {})])["failed_accounts"] == []
