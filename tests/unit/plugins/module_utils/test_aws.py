# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests for plugins/module_utils/aws.py: region checks, clients, call counting, pagination, retries."""

from __future__ import annotations

import threading

import botocore.exceptions
import pytest

from ansible_collections.rdsca.rotation.plugins.module_utils import aws
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import (
    CallCounter,
    RegionClients,
    check_regions_option,
    enabled_regions,
    error_info,
    known_regions,
    paginate,
    partition_of,
    resolve_regions,
    retry_decorator,
    validate_regions,
)


class TestRegions:
    def test_known_regions_come_from_botocore_data(self):
        known = known_regions()
        assert {"us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"} <= known
        assert not [r for r in known if r.endswith("-global")]

    @pytest.mark.parametrize("name", ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1",
                                      "us-isob-east-1", "eu-isoe-west-1"])
    def test_valid(self, name):
        assert validate_regions([name]) == []

    def test_invalid_names(self):
        problems = validate_regions(["US-EAST-1", "us-east", "useast1", "", "eu-wset-1", "us-east-1", "us-east-1"])
        assert len(problems) == 5  # a region listed twice is not a problem
        assert "'US-EAST-1' is not an AWS region name" in problems[0]
        assert "did you mean eu-west-1" in problems[4]

    def test_an_unknown_list_only_checks_the_pattern(self):
        assert validate_regions(["xx-north-9"], known=set()) == []

    def test_regions_option(self):
        assert check_regions_option(None) == []
        assert check_regions_option(["all"]) == []
        assert check_regions_option([]) == ["regions must name at least one region, or be 'all'"]
        assert "cannot be combined" in check_regions_option(["all", "us-east-1"])[0]
        assert "us-eest-1" in check_regions_option(["us-eest-1"])[0]

    def test_partition_of(self):
        assert partition_of("us-east-1") == "aws"
        assert partition_of("cn-north-1") == "aws-cn"
        assert partition_of("us-gov-east-1") == "aws-us-gov"
        assert partition_of("eu-north-9") == "aws"  # by the partition's regionRegex
        assert partition_of("zz-top-1") is None


class FakeModule:
    """The part of AnsibleAWSModule the helpers use."""

    def __init__(self, **params):
        self.params = dict(access_key="AKIAFAKE", secret_key="fake", session_token=None, profile=None,
                           endpoint_url=None, validate_certs=True, aws_ca_bundle=None, aws_config=None,
                           region="us-east-1")
        self.params.update(params)
        self.failed = None

    @property
    def region(self):
        return self.params["region"]

    def fail_json(self, **kwargs):
        self.failed = kwargs
        raise SystemExit(kwargs["msg"])

    def fail_json_aws(self, exception, msg=None, **kwargs):
        self.fail_json(msg="%s: %s" % (msg, exception), **kwargs)


class TestRegionClients:
    def test_one_session_many_regions_endpoint_and_config(self):
        module = FakeModule(endpoint_url="http://127.0.0.1:9", aws_config={"retries": {"max_attempts": 1}})
        clients = RegionClients(module)
        clients.prepare("rds", ["us-east-1", "eu-west-1"])
        east, west = clients.get("rds", "us-east-1"), clients.get("rds", "eu-west-1")
        assert clients.get("rds", "us-east-1") is east
        assert east.meta.region_name == "us-east-1" and west.meta.region_name == "eu-west-1"
        assert east.meta.endpoint_url == west.meta.endpoint_url == "http://127.0.0.1:9"
        assert east.meta.config.retries["total_max_attempts"] == 2  # botocore: max_attempts retries + 1
        assert "rdsca.rotation" in east.meta.config.user_agent_extra
        assert clients.endpoint_url == "http://127.0.0.1:9"

    def test_bad_connection_options_fail_the_module(self):
        module = FakeModule(profile="p", access_key="AKIA")
        with pytest.raises(SystemExit):
            RegionClients(module).get("rds", "us-east-1")
        assert "profile and access tokens" in module.failed["msg"]

    def test_missing_profile_fails_the_module(self, monkeypatch, tmp_path):
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
        module = FakeModule(profile="no-such-profile", access_key=None, secret_key=None)
        with pytest.raises(SystemExit):
            RegionClients(module).get("rds", "us-east-1")
        assert "could not be found" in module.failed["msg"]


class FakeEc2:
    def __init__(self, regions):
        self.regions = regions
        self.calls = 0

    def describe_regions(self, **params):
        assert params == {"AllRegions": False, "aws_retry": True}
        self.calls += 1
        return {"Regions": self.regions}


class FakeClients:
    def __init__(self, ec2):
        self.ec2 = ec2
        self.counter = CallCounter()

    def get(self, service, region):
        assert (service, region) == ("ec2", "us-east-1")
        return self.ec2


class TestResolveRegions:
    REGIONS = [{"RegionName": "us-east-1", "OptInStatus": "opt-in-not-required"},
               {"RegionName": "eu-west-1", "OptInStatus": "opt-in-not-required"},
               {"RegionName": "af-south-1", "OptInStatus": "opted-in"},
               {"RegionName": "ap-east-1", "OptInStatus": "not-opted-in"},
               {"RegionName": "cn-north-1", "OptInStatus": "opt-in-not-required"},
               {"RegionName": "us-gov-west-1", "OptInStatus": "opt-in-not-required"}]

    def test_all_is_the_enabled_regions_of_the_callers_partition(self):
        ec2 = FakeEc2(self.REGIONS)
        assert enabled_regions(FakeClients(ec2), "us-east-1") == ["af-south-1", "eu-west-1", "us-east-1"]
        assert ec2.calls == 1

    def test_resolve(self):
        module = FakeModule()
        clients = FakeClients(FakeEc2(self.REGIONS))
        assert resolve_regions(module, clients, None) == ["us-east-1"]
        assert resolve_regions(module, clients, ["eu-west-1"]) == ["eu-west-1"]
        assert resolve_regions(module, clients, ["all"]) == ["af-south-1", "eu-west-1", "us-east-1"]

    def test_resolve_without_any_region_fails_clearly(self):
        module = FakeModule(region=None)
        with pytest.raises(SystemExit):
            resolve_regions(module, FakeClients(FakeEc2([])), None)
        assert "Set regions" in module.failed["msg"]

    def test_bad_names_fail_before_any_call(self):
        ec2 = FakeEc2(self.REGIONS)
        module = FakeModule()
        with pytest.raises(SystemExit):
            resolve_regions(module, FakeClients(ec2), ["us-east-1", "mars-north-1"])
        assert "mars-north-1" in module.failed["msg"] and ec2.calls == 0


def throttled(code="Throttling"):
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": "Rate exceeded"}}, "DescribeDBInstances")


class PagedClient:
    """Serves DescribeDBInstances pages of one item, failing the first `failures` calls."""

    def __init__(self, items, failures=0, code="Throttling"):
        self.items = items
        self.failures = failures
        self.code = code
        self.calls = []

    def describe_db_instances(self, **params):
        self.calls.append(dict(params))
        if self.failures:
            self.failures -= 1
            raise throttled(self.code)
        start = int(params.get("Marker") or 0)
        page = {"DBInstances": self.items[start:start + 1], "Extra": start}
        if start + 1 < len(self.items):
            page["Marker"] = str(start + 1)
        return page


@pytest.fixture
def no_sleep(monkeypatch):
    slept = []
    monkeypatch.setattr("time.sleep", slept.append)
    return slept


class TestPaginate:
    def test_walks_markers_and_keeps_the_first_page(self):
        client = PagedClient(["a", "b", "c"])
        items, first = paginate(client, "describe_db_instances", "DBInstances", Filters=[])
        assert items == ["a", "b", "c"] and first["Extra"] == 0
        assert [c.get("Marker") for c in client.calls] == [None, "1", "2"]
        assert all(c["MaxRecords"] == 100 for c in client.calls)

    def test_retries_each_page_with_jittered_backoff(self, no_sleep):
        from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper

        client = PagedClient(["a", "b"], failures=2, code="ThrottlingException")
        wrapped = RetryingBotoClientWrapper(client, retry_decorator(retries=5, delay=1))
        items, _first = paginate(wrapped, "describe_db_instances", "DBInstances")
        assert items == ["a", "b"]
        assert len(client.calls) == 4  # 2 throttled + 2 pages: the first page is not re-read
        assert len(no_sleep) == 2 and all(0 <= s <= 30 for s in no_sleep)

    def test_gives_up_after_the_retries(self, no_sleep):
        from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper

        client = PagedClient(["a"], failures=10)
        wrapped = RetryingBotoClientWrapper(client, retry_decorator(retries=3, delay=1))
        with pytest.raises(botocore.exceptions.ClientError):
            paginate(wrapped, "describe_db_instances", "DBInstances")
        assert len(client.calls) == 3

    def test_access_denied_is_not_retried(self, no_sleep):
        from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper

        client = PagedClient(["a"], failures=1, code="AccessDenied")
        with pytest.raises(botocore.exceptions.ClientError):
            paginate(RetryingBotoClientWrapper(client, retry_decorator()), "describe_db_instances", "DBInstances")
        assert len(client.calls) == 1 and no_sleep == []


class TestErrorInfo:
    def test_client_error(self):
        assert error_info(throttled("AccessDenied")) == {"error_code": "AccessDenied", "message": "Rate exceeded"}

    def test_botocore_error(self):
        info = error_info(botocore.exceptions.EndpointConnectionError(endpoint_url="https://rds.x"))
        assert info["error_code"] == "EndpointConnectionError" and "rds.x" in info["message"]


class TestCallCounter:
    def test_counts_every_request_sent_per_region_and_operation(self):
        moto = pytest.importorskip("moto")
        with moto.mock_aws():
            module = FakeModule(access_key="testing", secret_key="testing")
            counter = CallCounter()
            clients = RegionClients(module, counter)
            clients.prepare("rds", ["us-east-1", "eu-west-1"])
            east = clients.get("rds", "us-east-1")
            east.describe_db_instances(aws_retry=True)
            east.describe_db_clusters()
            clients.get("rds", "eu-west-1").describe_db_instances()
            threads = [threading.Thread(target=east.describe_db_instances) for _attempt in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert counter.snapshot() == {"us-east-1": {"DescribeDBInstances": 9, "DescribeDBClusters": 1},
                                      "eu-west-1": {"DescribeDBInstances": 1}}
        assert counter.total() == 11

    def test_add(self):
        counter = CallCounter()
        counter.add("global", "DescribeRegions")
        counter.add("global", "DescribeRegions", 2)
        assert counter.snapshot() == {"global": {"DescribeRegions": 3}}


def test_argument_spec_matches_the_doc_fragment():
    import yaml
    from ansible_collections.rdsca.rotation.plugins.doc_fragments.regions import ModuleDocFragment

    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = aws.regions_argument_spec()
    assert set(documented) == set(spec)
    for name, option in spec.items():
        assert documented[name]["type"] == option["type"]
        assert documented[name].get("default") == option.get("default")
        assert documented[name].get("elements") == option.get("elements")
