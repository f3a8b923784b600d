# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests for plugins/module_utils/rds_api.py, the AWS adapter, against botocore's Stubber.

The Stubber checks every request against the RDS service model (operation and parameter names,
types) and answers in order, so these tests see the requests the adapter really sends: pages,
filters, retries and single attempts.
"""

from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from ansible_collections.rdsca.rotation.plugins.module_utils import rds_api
from ansible_collections.rdsca.rotation.plugins.module_utils.aws import CallCounter, RegionClients
from ansible_collections.rdsca.rotation.plugins.module_utils.rotation_aws import RdsApi
from ansible_collections.rdsca.rotation.plugins.module_utils.rotation_runner import ApiError

REGION = "us-east-1"


class FakeModule:
    """The part of AnsibleAWSModule that RegionClients uses."""

    def __init__(self, **params):
        self.params = dict(access_key="AKIAFAKE", secret_key="fake", session_token=None, profile=None,
                           endpoint_url=None, validate_certs=True, aws_ca_bundle=None, aws_config=None,
                           region=REGION)
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


@pytest.fixture(name="slept")
def fixture_slept(monkeypatch):
    slept = []
    monkeypatch.setattr("time.sleep", slept.append)
    return slept


@pytest.fixture(name="clients")
def fixture_clients():
    return RegionClients(FakeModule(), CallCounter())


def stub(clients, single_attempt=False, region=REGION):
    """A Stubber on the raw botocore client behind the adapter's (retrying) client of ``region``."""
    wrapper = rds_api.client(clients, rds_api.Scope(region), single_attempt=single_attempt)
    stubber = Stubber(wrapper.client)
    stubber.activate()
    return wrapper, stubber


def instance(ident, engine="postgres", version="16.3"):
    return {"DBInstanceIdentifier": ident, "Engine": engine, "EngineVersion": version,
            "DBInstanceStatus": "available", "CACertificateIdentifier": "rds-ca-2019"}


def throttled(stubber, method, code="Throttling", status=400):
    stubber.add_client_error(method, service_error_code=code, service_message="Rate exceeded",
                             http_status_code=status)


class TestScope:
    def test_label_is_the_region_for_the_modules_own_account(self):
        assert rds_api.Scope(REGION).label == REGION
        assert rds_api.Scope(REGION, "123456789012").label == "123456789012/us-east-1"
        assert rds_api.scopes(["eu-west-1", REGION]) == [rds_api.Scope("eu-west-1"), rds_api.Scope(REGION)]

    def test_another_accounts_clients_use_its_session(self, clients):
        clients.add_account("123456789012", boto3.session.Session(aws_access_key_id="AKIAOTHER",
                                                                  aws_secret_access_key="other"))
        mine = rds_api.client(clients, rds_api.Scope(REGION))
        theirs = rds_api.client(clients, rds_api.Scope(REGION, "123456789012"))
        assert mine is not theirs
        assert theirs.client._request_signer._credentials.access_key == "AKIAOTHER"
        assert mine.client._request_signer._credentials.access_key == "AKIAFAKE"

    def test_requests_are_counted_per_scope_label(self, clients):
        moto = pytest.importorskip("moto")
        with moto.mock_aws():
            clients.add_account("123456789012", boto3.session.Session(aws_access_key_id="AKIAOTHER",
                                                                      aws_secret_access_key="other"))
            rds_api.describe_db_instances(rds_api.client(clients, rds_api.Scope(REGION)))
            rds_api.describe_db_clusters(rds_api.client(clients, rds_api.Scope(REGION, "123456789012")))
        assert clients.counter.snapshot() == {REGION: {"DescribeDBInstances": 1},
                                              "123456789012/us-east-1": {"DescribeDBClusters": 1}}

    def test_an_account_without_a_session_fails_the_module_clearly(self, clients):
        with pytest.raises(SystemExit):
            rds_api.client(clients, rds_api.Scope(REGION, "210987654321"))
        assert "no session for account 210987654321" in clients.module.failed["msg"]


class TestPagination:
    def test_walks_every_page_of_100(self, clients):
        rds, stubber = stub(clients)
        first = [instance("db-%03d" % i) for i in range(100)]
        stubber.add_response("describe_db_instances", {"DBInstances": first, "Marker": "m1"}, {"MaxRecords": 100})
        stubber.add_response("describe_db_instances", {"DBInstances": first[:100], "Marker": "m2"},
                             {"MaxRecords": 100, "Marker": "m1"})
        stubber.add_response("describe_db_instances", {"DBInstances": [instance("last")]},
                             {"MaxRecords": 100, "Marker": "m2"})
        items = rds_api.describe_db_instances(rds)
        stubber.assert_no_pending_responses()
        assert len(items) == 201 and items[-1]["DBInstanceIdentifier"] == "last"

    def test_identifiers_are_filtered_100_per_call_each_once(self, clients):
        rds, stubber = stub(clients)
        ids = ["db-%03d" % i for i in range(250)]
        for chunk in (ids[:100], ids[100:200], ids[200:]):
            stubber.add_response("describe_db_instances", {"DBInstances": [instance(i) for i in chunk]},
                                 {"MaxRecords": 100, "Filters": [{"Name": "db-instance-id", "Values": chunk}]})
        # Given unsorted and twice: asked once each, in order.
        items = rds_api.describe_db_instances(rds, list(reversed(ids)) + ids[:3])
        stubber.assert_no_pending_responses()
        assert [i["DBInstanceIdentifier"] for i in items] == ids

    def test_certificates_keep_the_default_for_new_launches_of_the_first_page(self, clients):
        rds, stubber = stub(clients)
        cert = {"CertificateIdentifier": "rds-ca-rsa2048-g1", "CertificateType": "CA",
                "ValidTill": datetime.datetime(2061, 5, 26, tzinfo=datetime.timezone.utc)}
        stubber.add_response("describe_certificates", {"Certificates": [cert], "Marker": "m",
                                                       "DefaultCertificateForNewLaunches": "rds-ca-rsa2048-g1"},
                             {"MaxRecords": 100})
        stubber.add_response("describe_certificates", {"Certificates": [dict(cert, CertificateIdentifier="rds-ca-ecc384-g1")]},
                             {"MaxRecords": 100, "Marker": "m"})
        answer = rds_api.describe_certificates(rds)
        assert answer["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
        assert [c["CertificateIdentifier"] for c in answer["Certificates"]] == ["rds-ca-rsa2048-g1", "rds-ca-ecc384-g1"]


class TestRetries:
    def test_a_throttled_page_is_retried_alone_with_backoff(self, clients, slept):
        rds, stubber = stub(clients)
        stubber.add_response("describe_db_clusters", {"DBClusters": [], "Marker": "m1"}, {"MaxRecords": 100})
        throttled(stubber, "describe_db_clusters")
        throttled(stubber, "describe_db_clusters", code="RequestLimitExceeded")
        stubber.add_response("describe_db_clusters", {"DBClusters": [{"DBClusterIdentifier": "c1"}]},
                             {"MaxRecords": 100, "Marker": "m1"})
        assert rds_api.describe_db_clusters(rds) == [{"DBClusterIdentifier": "c1"}]
        stubber.assert_no_pending_responses()  # page 1 was not read again
        assert len(slept) == 2 and all(0 <= s <= 30 for s in slept)

    def test_a_read_is_retried_after_a_server_error(self, clients, slept):
        rds, stubber = stub(clients)
        throttled(stubber, "describe_pending_maintenance_actions", code="InternalFailure", status=500)
        stubber.add_response("describe_pending_maintenance_actions", {"PendingMaintenanceActions": []})
        assert rds_api.describe_pending_maintenance_actions(rds) == []
        assert len(slept) == 1

    def test_access_denied_is_not_retried(self, clients, slept):
        rds, stubber = stub(clients)
        throttled(stubber, "describe_db_parameters", code="AccessDenied", status=403)
        with pytest.raises(rds_api.AWS_ERRORS):
            rds_api.describe_db_parameters(rds, "default.postgres16")
        assert slept == []


class TestChanges:
    """A change goes out once: only throttling (refused unprocessed) is sent again."""

    def test_modify_is_sent_once_after_a_server_error(self, clients, slept):
        rds, stubber = stub(clients, single_attempt=True)
        throttled(stubber, "modify_db_instance", code="InternalFailure", status=500)
        stubber.add_response("modify_db_instance", {"DBInstance": instance("a")})  # must stay unused
        with pytest.raises(rds_api.AWS_ERRORS):
            rds_api.modify_db_instance(rds, "a", "rds-ca-rsa2048-g1", True)
        assert slept == []
        with pytest.raises(AssertionError):
            stubber.assert_no_pending_responses()

    def test_a_throttled_modify_is_sent_again(self, clients, slept):
        rds, stubber = stub(clients, single_attempt=True)
        throttled(stubber, "modify_db_instance")
        stubber.add_response("modify_db_instance", {"DBInstance": instance("a")},
                             {"DBInstanceIdentifier": "a", "CACertificateIdentifier": "rds-ca-rsa2048-g1",
                              "ApplyImmediately": True, "CertificateRotationRestart": False})
        answer = rds_api.modify_db_instance(rds, "a", "rds-ca-rsa2048-g1", 1, restart=False)
        assert answer["DBInstanceIdentifier"] == "a" and len(slept) == 1
        stubber.assert_no_pending_responses()

    def test_rotation_api_reports_an_ambiguous_change_and_sends_it_once(self, clients, slept):
        _rds, stubber = stub(clients, single_attempt=True)
        throttled(stubber, "modify_db_cluster", code="InternalFailure", status=500)
        throttled(stubber, "apply_pending_maintenance_action", code="InvalidParameterValue", status=400)
        api = RdsApi(clients)
        with pytest.raises(ApiError) as server_error:
            api.call({"op": "modify_cluster", "region": REGION, "identifier": "maz", "ca": "rds-ca-rsa2048-g1",
                      "apply_immediately": True})
        assert server_error.value.ambiguous and server_error.value.operation == "ModifyDBCluster"
        with pytest.raises(ApiError) as refused:
            api.call({"op": "apply_pending_action", "region": REGION, "arn": "arn:aws:rds:us-east-1:1:db:a",
                      "opt_in": "immediate"})
        assert not refused.value.ambiguous and refused.value.code == "InvalidParameterValue"
        stubber.assert_no_pending_responses()
        assert slept == []

    def test_optional_restart_flag_is_left_out(self, clients):
        rds, stubber = stub(clients, single_attempt=True)
        stubber.add_response("modify_db_instance", {"DBInstance": instance("a")},
                             {"DBInstanceIdentifier": "a", "CACertificateIdentifier": "rds-ca-rsa2048-g1",
                              "ApplyImmediately": False})
        rds_api.modify_db_instance(rds, "a", "rds-ca-rsa2048-g1", False)
        stubber.assert_no_pending_responses()


def region_reads(stubber, instances, clusters=()):
    stubber.add_response("describe_db_instances", {"DBInstances": list(instances)}, {"MaxRecords": 100})
    stubber.add_response("describe_db_clusters", {"DBClusters": list(clusters)}, {"MaxRecords": 100})
    stubber.add_response("describe_pending_maintenance_actions", {"PendingMaintenanceActions": []}, {"MaxRecords": 100})
    stubber.add_response("describe_certificates", {"Certificates": [], "DefaultCertificateForNewLaunches": "rds-ca-rsa2048-g1"},
                         {"MaxRecords": 100})


class TestScanRegions:
    # concurrency=1: one worker runs the calls in the order they are submitted, the order the Stubber answers in.

    def test_one_engine_version_lookup_per_distinct_version(self, clients):
        _rds, stubber = stub(clients)
        fleet = [instance("a", version="16.3"), instance("b", version="16.3"), instance("c", version="15.7"),
                 instance("d", "mysql", "8.0.36"), instance("e", "mysql", "8.0.36")]
        region_reads(stubber, fleet)
        stubber.add_response("describe_db_engine_versions", {"DBEngineVersions": [{"Engine": "mysql", "EngineVersion": "8.0.36"}]},
                             {"Engine": "mysql", "IncludeAll": True, "MaxRecords": 100,
                              "Filters": [{"Name": "engine-version", "Values": ["8.0.36"]}]})
        stubber.add_response("describe_db_engine_versions", {"DBEngineVersions": [{"Engine": "postgres", "EngineVersion": "15.7"},
                                                                                  {"Engine": "postgres", "EngineVersion": "16.3"}]},
                             {"Engine": "postgres", "IncludeAll": True, "MaxRecords": 100,
                              "Filters": [{"Name": "engine-version", "Values": ["15.7", "16.3"]}]})

        def needed(instances, clusters):
            assert clusters == []
            versions = {}
            for db in instances:
                versions.setdefault(db["Engine"], set()).add(db["EngineVersion"])
            return dict((engine, sorted(v)) for engine, v in versions.items())

        states = rds_api.scan_regions(clients, [rds_api.Scope(REGION)], needed, concurrency=1)
        stubber.assert_no_pending_responses()
        state = states[rds_api.Scope(REGION)]
        assert state["error"] is None
        assert len(state["raw"]["instances"]) == 5 and len(state["raw"]["engine_versions"]) == 3
        assert state["raw"]["certificates"]["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"

    def test_a_failed_read_fails_its_scope_only(self, clients, slept):
        _east, east = stub(clients)
        _west, west = stub(clients, region="eu-west-1")
        region_reads(east, [instance("a")])
        # Reads already running when the first failure is seen fail too; the scope keeps one error.
        for method in ("describe_db_instances", "describe_db_clusters", "describe_pending_maintenance_actions",
                       "describe_certificates"):
            west.add_client_error(method, service_error_code="AccessDenied", service_message="no",
                                  http_status_code=403, expected_params={"MaxRecords": ANY})
        states = rds_api.scan_regions(clients, rds_api.scopes([REGION, "eu-west-1"]), concurrency=1)
        east.assert_no_pending_responses()
        assert states[rds_api.Scope(REGION)]["error"] is None
        error = states[rds_api.Scope("eu-west-1")]["error"]
        assert error.pop("operation") in ("DescribeDBInstances", "DescribeDBClusters", "DescribePendingMaintenanceActions",
                                          "DescribeCertificates")
        assert error == {"region": "eu-west-1", "error_code": "AccessDenied", "message": "no"}
        assert slept == []

    def test_no_scopes_no_calls(self, clients):
        assert rds_api.scan_regions(clients, []) == {}

    def test_accounts_times_regions_are_read_at_once_on_one_bounded_pool(self, monkeypatch):
        """Issue 17: the scopes of every account x region run concurrently, on one pool of at most ``concurrency``.

        Every read waits at a barrier of all the scopes' reads: they only get past it if they are all in flight at
        once (one pool for every account and region, not one account or region after the other)."""
        import threading

        where = [rds_api.Scope(region, account) for account in ("111111111111", "222222222222")
                 for region in (REGION, "eu-west-1", "ap-southeast-2")]
        lock, state = threading.Lock(), {"now": 0, "most": 0, "threads": set()}

        def read(scope, barrier):
            with lock:
                state["now"] += 1
                state["most"] = max(state["most"], state["now"])
                state["threads"].add(threading.get_ident())
            try:
                if barrier is not None:
                    barrier.wait(timeout=10)
            finally:
                with lock:
                    state["now"] -= 1
            return {"scope": scope.label} if barrier is None else [scope.label]

        def reads(barrier):
            return tuple((kind, lambda scope, _b=barrier: read(scope, _b), operation)
                         for kind, _read, operation in rds_api.REGION_READS)

        monkeypatch.setattr(rds_api, "client", lambda _clients, scope, **_kw: scope)
        monkeypatch.setattr(rds_api, "REGION_READS", reads(threading.Barrier(len(where) * len(rds_api.REGION_READS))))
        states = rds_api.scan_regions(None, where, concurrency=64)
        assert [states[scope]["error"] for scope in where] == [None] * len(where)
        assert states[where[-1]]["raw"]["instances"] == ["222222222222/ap-southeast-2"]
        assert state["most"] == len(where) * len(rds_api.REGION_READS)

        # Bounded: with concurrency 3, never more than 3 reads at once, on 3 threads.
        state.update(most=0, threads=set())
        monkeypatch.setattr(rds_api, "REGION_READS", reads(None))
        states = rds_api.scan_regions(None, where, concurrency=3)
        assert [states[scope]["error"] for scope in where] == [None] * len(where)
        assert state["most"] <= 3 and len(state["threads"]) <= 3

    def test_scope_error_names_the_account_of_another_account(self):
        error = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DescribeDBProxies")
        assert rds_api.scope_error(rds_api.Scope(REGION, "222222222222"), "DescribeDBProxies", error) == {
            "region": REGION, "operation": "DescribeDBProxies", "error_code": "AccessDenied", "message": "no",
            "account": "222222222222"}
        assert "account" not in rds_api.scope_error(rds_api.Scope(REGION), "DescribeDBProxies", error)
