"""docs/iam-policy.json is the least privilege, proven with IAM enforced by the simulator.

Statically:

* the file holds valid IAM policy documents, one per playbook (trust: none), whose actions are
  real RDS/EC2 operations; the read-only ones only read;
* the AWS operations the plugins' code can call are exactly those listed per module
  (ModuleActions), which agree with the modules' documented "IAM permissions";
* each playbook uses exactly the modules its policy names (following imports, includes and roles),
  and its policy holds what those modules always need and nothing any of them never calls.

Against a simulator started in its own process with moto's IAM enforcement on
(INITIAL_NO_AUTH_ACTION_COUNT: the first calls create the IAM users and their access keys,
every later call must be signed by one of them and allowed by its policy):

* every operation the simulator adds to moto (DescribeCertificates, ModifyCertificates...) is
  authorized like moto's own: denied to a user without a policy, naming the action;
* the real playbooks/audit.yml and playbooks/rotate.yml pass with exactly their policy, and the
  actions the simulator served during each run are exactly the policy's;
* with any one action removed, the module call that needs it fails with AccessDenied naming the
  action - and the audit and rotate playbooks themselves fail, saying which action was denied.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from tests.integration.conftest import REPO, SimulatorHandle

POLICY_FILE = os.path.join(REPO, "docs", "iam-policy.json")
PLUGINS = os.path.join(REPO, "plugins")
PLAYBOOKS = os.path.join(REPO, "playbooks")
ROLES = os.path.join(REPO, "roles")
REGION = "us-east-1"
OLD = "rds-ca-2019"
TARGET = "rds-ca-rsa2048-g1"
BOOT_KEY = "AKIASIMULATOR0000000"
READ_PREFIXES = ("Describe", "List", "Get")
ACTION = re.compile(r"^(rds|ec2|logs|sts|organizations|iam):[A-Z][A-Za-z]+$")


def load_policies() -> dict[str, Any]:
    with open(POLICY_FILE, encoding="utf-8") as handle:
        return json.load(handle)


def actions_of(document: dict[str, Any] | None) -> set[str]:
    if document is None:
        return set()
    found: set[str] = set()
    for statement in document["Statement"]:
        found.update([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    return found


def module_actions(doc: dict[str, Any], module: str, api_only: bool = True) -> set[str]:
    found: set[str] = set()
    for actions in doc["ModuleActions"][module].values():
        found.update(a for a in actions if not api_only or ACTION.match(a))
    return found


def operations(service: str) -> dict[str, str]:
    """botocore's snake_case method name -> API operation name, for a service."""
    client = boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    return dict(client.meta.method_to_api_mapping)


# -- the document itself ---------------------------------------------------------------------------------

def test_policies_are_valid_iam_documents_of_real_actions():
    doc = load_policies()
    known = set("rds:" + op for op in operations("rds").values()) | set("ec2:" + op for op in operations("ec2").values())
    assert set(doc["Policies"]) == {"inventory", "audit", "rotate", "rollback", "trust"}
    for name, policy in doc["Policies"].items():
        assert policy["Playbooks"] and policy["Description"], name
        document = policy["PolicyDocument"]
        if name == "trust":
            assert document is None  # no AWS call at all
            continue
        assert document["Version"] == "2012-10-17"
        sids = [s["Sid"] for s in document["Statement"]]
        assert len(sids) == len(set(sids)) and all(re.match(r"^[A-Za-z0-9]+$", s) for s in sids), name
        for statement in document["Statement"]:
            assert set(statement) - {"Condition"} == {"Sid", "Effect", "Action", "Resource"}, statement
            assert statement["Effect"] == "Allow"
            assert statement["Resource"] == "*" or set(statement["Action"]) <= set(SCOPED), statement
            assert statement["Action"] == sorted(set(statement["Action"])), "sorted, once each: %s" % statement["Sid"]
            assert all(ACTION.match(a) and "*" not in a for a in statement["Action"]), statement["Action"]
        assert actions_of(document) <= known, actions_of(document) - known
    for name in ("inventory", "audit"):
        assert all(a.split(":")[1].startswith(READ_PREFIXES) for a in actions_of(doc["Policies"][name]["PolicyDocument"]))
    # Narrower playbooks need no more than the wider ones.
    policy = dict((n, actions_of(p["PolicyDocument"])) for n, p in doc["Policies"].items())
    assert policy["inventory"] < policy["audit"] < policy["rotate"] and policy["rollback"] < policy["rotate"]


# The changing actions that support resource-level permissions, their resource type and tag condition key
# (AWS Service Authorization Reference, "Actions, resources, and condition keys for Amazon RDS").
SCOPED = {
    "rds:ModifyDBInstance": ("db", "rds:db-tag/${TagKey}"),
    "rds:ApplyPendingMaintenanceAction": ("db", "rds:db-tag/${TagKey}"),
    "rds:ModifyDBCluster": ("cluster", "rds:cluster-tag/${TagKey}"),
}
# No resource-level permission exists for these (Resource must be "*").
UNSCOPABLE_CHANGES = {"rds:ModifyCertificates"}


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(s, Action=[s["Action"]] if isinstance(s["Action"], str) else s["Action"]) for s in document["Statement"]]


def test_changing_actions_are_scoped_to_tagged_databases_of_one_account():
    """Issue 14, hole 8: ModifyDBInstance/ModifyDBCluster on "*" also allowed changing master passwords, public
    access and deletion protection of every database. Now: resource ARNs of one account plus a tag condition,
    the variables documented, and what IAM cannot restrict said."""
    doc = load_policies()
    used = set()
    for name, policy in doc["Policies"].items():
        if policy["PolicyDocument"] is None:
            continue
        for statement in _statements(policy["PolicyDocument"]):
            changing = [a for a in statement["Action"] if not a.split(":")[1].startswith(READ_PREFIXES)]
            if not changing:
                continue
            assert len(statement["Action"]) == 1 or not set(statement["Action"]) & UNSCOPABLE_CHANGES, statement
            for action in changing:
                if action in UNSCOPABLE_CHANGES:
                    assert statement["Resource"] == "*" and "Condition" not in statement, statement
                    continue
                kind, tag_key = SCOPED[action]
                assert statement["Resource"] == "arn:${Partition}:rds:*:${AccountId}:%s:*" % kind, (name, statement)
                assert statement["Condition"] == {"StringEquals": {tag_key: "${TagValue}"}}, (name, statement)
        used.update(re.findall(r"\$\{[A-Za-z]+\}", json.dumps(policy["PolicyDocument"])))
    for extra in ("PermissionBoundary", "ServiceControlPolicy"):
        document = doc[extra]["PolicyDocument"]
        assert doc[extra]["Description"] and document["Version"] == "2012-10-17"
        used.update(re.findall(r"\$\{[A-Za-z]+\}", json.dumps(document)))
    assert used == set(doc["TemplateVariables"]), "every template variable used is documented, and only those"
    # The boundary allows no more than the rotation needs, and denies the parameters IAM can see.
    boundary = _statements(doc["PermissionBoundary"]["PolicyDocument"])
    allowed = set().union(*(set(s["Action"]) for s in boundary if s["Effect"] == "Allow"))
    rotate = actions_of(doc["Policies"]["rotate"]["PolicyDocument"]) | actions_of(doc["Policies"]["rollback"]["PolicyDocument"])
    assert rotate <= allowed <= rotate | {"rds:ApplyPendingMaintenanceAction"}
    denied_keys = {key for s in boundary if s["Effect"] == "Deny" for key in s["Condition"]["Null"]}
    assert denied_keys == {"rds:DatabaseClass", "rds:StorageSize", "rds:Piops", "rds:ManageMasterUserPassword"}
    assert all(s["Resource"] == "*" or s["Resource"].startswith("arn:${Partition}:rds:*:${AccountId}:") for s in boundary)
    # What cannot be restricted, and why, is stated.
    for word in ("MasterUserPassword", "PubliclyAccessible", "DeletionProtection", "CACertificateIdentifier",
                 "condition key", "ModifyCertificates"):
        assert word in doc["CannotBeRestricted"], word


def _api_calls_in_code() -> set[str]:
    """The AWS operations the plugins can call: botocore method names appearing in the code, per service used."""
    services = set()
    sources = []
    for root, _dirs, files in os.walk(PLUGINS):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(root, name), encoding="utf-8") as handle:
                    source = handle.read()
                sources.append(source)
                services.update(re.findall(r"""(?:clients\.get|\.prepare|\.client)\(\s*["'](\w+)["']""", source))
                services.update(re.findall(r"""client_of\(clients,\s*["'](\w+)["']""", source))  # rds_ssl_usage
    assert services == {"rds", "ec2", "logs", "sts", "organizations", "iam"}, services
    found = set()
    for service in services:
        methods = operations(service)
        for source in sources:
            for word in set(re.findall(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b", source)):
                if word in methods:
                    found.add("%s:%s" % (service, methods[word]))
    return found


def test_module_actions_are_exactly_what_the_code_calls_and_what_the_modules_document():
    doc = load_policies()
    listed = set()
    for module in doc["ModuleActions"]:
        listed |= module_actions(doc, module)
    assert _api_calls_in_code() == listed
    modules = sorted(n[:-3] for n in os.listdir(os.path.join(PLUGINS, "modules")) if n.endswith(".py"))
    assert sorted(doc["ModuleActions"]) == modules
    for module in modules:
        with open(os.path.join(PLUGINS, "modules", module + ".py"), encoding="utf-8") as handle:
            source = handle.read()
        documented = set(re.findall(r"C\(((?:rds|ec2|rds-db|logs|sts|organizations|iam):[A-Za-z]+)\)",
                                    source.split('EXAMPLES = r"""')[0]))
        assert documented == module_actions(doc, module, api_only=False), module


def test_cross_account_policies_grant_what_the_accounts_options_call():
    """Issue 17: the caller's sts:AssumeRole and organizations:ListAccounts, the member's iam:ListAccountAliases, and
    the trust policy of the assumed role (with its external ID condition)."""
    doc = load_policies()
    cross = doc["CrossAccount"]
    caller = actions_of(cross["CallerPolicyDocument"])
    alias = actions_of(cross["MemberAliasPolicyDocument"])
    assert caller == {"sts:AssumeRole", "organizations:ListAccounts"} and alias == {"iam:ListAccountAliases"}
    for module in ("rds_ca_facts", "rds_ssl_usage", "rds_ca_rotate"):
        assert caller | alias <= module_actions(doc, module), module
    with open(os.path.join(REPO, cross["TrustPolicy"]), encoding="utf-8") as handle:
        trust = json.load(handle)
    (statement,) = trust["PolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRole" and statement["Effect"] == "Allow"
    assert statement["Principal"]["AWS"].startswith("arn:${Partition}:iam::${ControllerAccountId}:")
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "${ExternalId}"}}
    for variable in set(re.findall(r"\$\{[A-Za-z]+\}", json.dumps(trust["PolicyDocument"]))):
        assert variable in trust["Description"], variable


# -- which playbook uses which modules --------------------------------------------------------------------

MODULE_KEY = re.compile(r"^rdsca\.rotation\.(rds_[a-z_]+)$")


def _task_files(path: str, seen: set[str]) -> None:
    if path in seen or not os.path.isfile(path):
        return
    seen.add(path)
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    here = os.path.dirname(path)

    def include(target: str) -> None:
        if "{{" in target:
            for name in sorted(os.listdir(here)):
                if name.endswith(".yml"):
                    _task_files(os.path.join(here, name), seen)
            return
        for base in (here, PLAYBOOKS, os.path.dirname(here)):
            candidate = os.path.join(base, target)
            if os.path.isfile(candidate):
                _task_files(candidate, seen)
                return
        raise AssertionError("%s: cannot find included %s" % (path, target))

    def role(name: str) -> None:
        short = name.split(".")[-1]
        for sub in ("tasks", "handlers"):
            directory = os.path.join(ROLES, short, sub)
            for file_name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
                if file_name.endswith(".yml"):
                    _task_files(os.path.join(directory, file_name), seen)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                short = key.rsplit(".", 1)[-1]
                if short in ("import_tasks", "include_tasks", "import_playbook"):
                    include(value if isinstance(value, str) else value.get("file"))
                elif short in ("import_role", "include_role"):
                    role(value["name"])
                elif key == "roles":
                    for item in value:
                        role(item if isinstance(item, str) else item.get("role") or item.get("name"))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)


def modules_of_playbook(playbook: str) -> set[str]:
    files: set[str] = set()
    _task_files(os.path.join(REPO, playbook), files)
    used = set()
    for path in files:
        with open(path, encoding="utf-8") as handle:
            used.update(re.findall(r"^\s*-?\s*(?:ansible\.builtin\.)?(?:name:\s*)?rdsca\.rotation\.(rds_[a-z_]+)\s*:",
                                   handle.read(), re.M))
    return used


def test_each_playbook_policy_covers_exactly_its_modules():
    doc = load_policies()
    for name, policy in doc["Policies"].items():
        used: set[str] = set()
        for playbook in policy["Playbooks"]:
            used |= modules_of_playbook(playbook)
        assert used == set(policy["Modules"]), (name, used)
        granted = actions_of(policy["PolicyDocument"])
        possible = set().union(*(module_actions(doc, m) for m in used)) if used else set()
        always = set().union(*(set(doc["ModuleActions"][m].get("always", [])) for m in used)) if used else set()
        assert always <= granted, (name, always - granted)
        assert granted <= possible, (name, granted - possible)


# -- the simulator with IAM enforced -------------------------------------------------------------------------

FLEET = {
    "description": "IAM enforcement: staging and production, a Multi-AZ DB cluster, a maintenance action",
    "timing": {"modify_seconds": 0.3, "reboot_seconds": 0.3},
    "regions": {REGION: {
        "default_ca": TARGET,
        "customer_override": OLD,
        "instances": [
            {"id": "shop-staging", "engine": "postgres", "engine_version": "16.3", "ca": OLD,
             "tags": {"Environment": "staging"}},
            {"id": "shop-prod", "engine": "mysql", "engine_version": "8.0.36", "ca": OLD,
             "tags": {"Environment": "production"}},
            {"id": "shop-prod-restart", "engine": "postgres", "engine_version": "14.10", "ca": OLD,
             "tags": {"Environment": "production"}},
            # A real PostgreSQL log behind DescribeDBLogFiles/DownloadDBLogFilePortion (and CloudWatch Logs'
            # FilterLogEvents), already on the target CA.
            {"id": "shop-logs", "engine": "postgres", "engine_version": "16.3", "ca": TARGET, "linked": "postgres",
             "tags": {"Environment": "staging"}, "cloudwatch_logs_exports": ["postgresql"]},
        ],
        "clusters": [
            {"id": "ledger-maz", "engine": "postgres", "engine_version": "16.3", "multi_az_cluster": True, "ca": OLD,
             "tags": {"Environment": "production"}},
        ],
        "proxies": [{"name": "shop-proxy", "engine_family": "POSTGRESQL", "targets": ["shop-staging"]}],
    }},
}

ADDED_OPERATIONS = {  # what tests/simulator/rds_ext.py adds to moto or wraps, with harmless arguments
    "describe_certificates": {},
    "modify_certificates": {"CertificateIdentifier": "rds-ca-bogus"},
    "describe_db_engine_versions": {"Engine": "postgres"},
    "describe_pending_maintenance_actions": {},
    "apply_pending_maintenance_action": {"ResourceIdentifier": "arn:aws:rds:us-east-1:123456789012:db:no-such-db",
                                         "ApplyAction": "ca-certificate-rotation", "OptInType": "next-maintenance"},
    "modify_db_instance": {"DBInstanceIdentifier": "no-such-db", "CACertificateIdentifier": TARGET},
    "modify_db_cluster": {"DBClusterIdentifier": "no-such-cluster", "CACertificateIdentifier": TARGET},
    "reboot_db_instance": {"DBInstanceIdentifier": "no-such-db"},
    "create_db_instance": {"DBInstanceIdentifier": "Not_Valid!", "DBInstanceClass": "db.t3.micro", "Engine": "postgres",
                           "EngineVersion": "16.3", "CACertificateIdentifier": "rds-ca-bogus"},
    "describe_db_parameters": {"DBParameterGroupName": "default.postgres16"},
    "describe_db_cluster_parameters": {"DBClusterParameterGroupName": "default.postgres16"},
    "describe_db_log_files": {"DBInstanceIdentifier": "no-such-db"},
    "download_db_log_file_portion": {"DBInstanceIdentifier": "no-such-db", "LogFileName": "error/postgresql.log.2026-01-01-00"},
    "describe_db_proxies": {},
    "describe_db_proxy_targets": {"DBProxyName": "no-such-proxy"},
    "describe_option_groups": {"OptionGroupName": "default:mysql-8-0"},
}


# The cross-account actions (CrossAccount: the accounts/organization options) are left out of the enforced runs
# below, which prove the playbooks' RDS policies: iam:ListAccountAliases may be refused by design (the alias is then
# null), and a refused sts:AssumeRole is reported in failed_accounts, not failed (test_accounts_estate.py proves both).
CROSS_ACCOUNT_SERVICES = ("sts", "organizations", "iam")


def all_module_actions(doc: dict[str, Any]) -> list[str]:
    return sorted(a for a in set().union(*(module_actions(doc, m) for m in doc["ModuleActions"]))
                  if a.split(":")[0] not in CROSS_ACCOUNT_SERVICES)


class EnforcedSimulator:
    """A simulator process whose moto enforces IAM after the calls that create the test's users."""

    def __init__(self, directory: str, users: dict[str, list[str] | None]) -> None:
        self.directory = directory
        fleet = os.path.join(directory, "fleet.yml")
        with open(fleet, "w", encoding="utf-8") as handle:
            yaml.safe_dump(FLEET, handle)
        info = os.path.join(directory, "info.json")
        # Each user: CreateUser, CreateAccessKey, and PutUserPolicy when it has a policy.
        setup_calls = sum(3 if actions is not None else 2 for actions in users.values())
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(setup_calls), AWS_ACCESS_KEY_ID=BOOT_KEY,
                   AWS_SECRET_ACCESS_KEY="boot")
        self.log = open(os.path.join(directory, "simulator.log"), "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.simulator", "serve", "--fleet", fleet, "--port", "0",
                                      "--info-file", info], cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        self.url = None
        while self.url is None:  # the info file is written once the simulator serves
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                with open(os.path.join(directory, "simulator.log"), encoding="utf-8", errors="replace") as handle:
                    raise AssertionError("the enforcing simulator did not start:\n" + handle.read()[-3000:])
            time.sleep(0.1)
            try:
                with open(info, encoding="utf-8") as handle:
                    self.url = json.load(handle)["endpoint_url"]
            except (OSError, ValueError, KeyError):
                continue
        iam = boto3.client("iam", region_name=REGION, endpoint_url=self.url, aws_access_key_id=BOOT_KEY,
                           aws_secret_access_key="boot")
        self.keys: dict[str, tuple[str, str]] = {}
        for user, actions in users.items():
            iam.create_user(UserName=user)
            if actions is not None:
                iam.put_user_policy(UserName=user, PolicyName="rdsca", PolicyDocument=json.dumps(
                    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
            key = iam.create_access_key(UserName=user)["AccessKey"]
            self.keys[user] = (key["AccessKeyId"], key["SecretAccessKey"])
        self.handle = SimulatorHandle(SimpleNamespace(endpoint_url=self.url))

    def client(self, user: str, service: str = "rds"):
        key_id, secret = self.keys[user]
        return boto3.client(service, region_name=REGION, endpoint_url=self.url, aws_access_key_id=key_id,
                            aws_secret_access_key=secret)

    def run_playbook(self, user: str, plays: Any, extra_vars: dict[str, Any] | None = None, timeout: int = 300):
        key_id, secret = self.keys[user]
        base_env = SimulatorHandle.env(self.handle)
        self.handle.env = lambda: dict(base_env, AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret)
        return self.handle.run_playbook(plays, extra_vars=extra_vars, timeout=timeout)

    def calls(self) -> dict[str, Any]:
        return self.handle.calls()

    def reset_calls(self) -> None:
        self.handle.reset_calls()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


def served(calls: dict[str, Any]) -> set[str]:
    """service:Operation of every call served, the failed ones included."""
    return set(op for ops in calls["by_region"].values() for op in ops)


@pytest.fixture(scope="module")
def enforced(tmp_path_factory):
    doc = load_policies()
    every = all_module_actions(doc)
    users: dict[str, list[str] | None] = {"admin": ["*"], "nobody": None}
    for name in ("audit", "rotate"):
        users[name] = sorted(actions_of(doc["Policies"][name]["PolicyDocument"]))
    for action in every:
        users["without-" + action.replace(":", "-")] = [a for a in every if a != action]
    directory = str(tmp_path_factory.mktemp("iam"))
    sim = EnforcedSimulator(directory, users)
    try:
        yield sim, doc, directory
    finally:
        sim.stop()


def test_enforcement_is_on_and_covers_the_operations_the_simulator_adds(enforced):
    sim, _doc, _directory = enforced
    with pytest.raises(ClientError) as caught:
        boto3.client("rds", region_name=REGION, endpoint_url=sim.url, aws_access_key_id=BOOT_KEY,
                     aws_secret_access_key="boot").describe_db_instances()
    assert caught.value.response["Error"]["Code"] == "InvalidClientTokenId"
    nobody, admin = sim.client("nobody"), sim.client("admin")
    methods = operations("rds")
    for method, params in ADDED_OPERATIONS.items():
        with pytest.raises(ClientError) as caught:
            getattr(nobody, method)(**params)
        error = caught.value.response["Error"]
        assert error["Code"] == "AccessDenied", (method, error)
        assert error["Message"] == "User: arn:aws:iam::123456789012:user/nobody is not authorized to perform: rds:%s" % (
            methods[method]), error
        try:  # allowed: whatever the answer, it is not an authorization error
            getattr(admin, method)(**params)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] not in ("AccessDenied", "InvalidClientTokenId"), (method, exc)


# Which module tasks need which action: run by the user that lacks it, each must fail naming it.
DISCOVERY = ("rds:DescribeDBInstances", "rds:DescribeDBClusters", "rds:DescribePendingMaintenanceActions",
             "rds:DescribeCertificates", "rds:DescribeDBEngineVersions")


def needing(action: str) -> list[dict[str, Any]]:
    if action in DISCOVERY:  # read by rds_ca_facts and by rds_ca_rotate's discovery (before any change)
        return [{"rdsca.rotation.rds_ca_facts": {"regions": [REGION], "strict": True}},
                {"rdsca.rotation.rds_ca_rotate": {"databases": ["shop-staging"], "poll_interval": 0.2}}]
    tasks = {
        "ec2:DescribeRegions": {"rdsca.rotation.rds_ca_facts": {"regions": "all", "strict": True}},
        "rds:DescribeDBParameters": {"rdsca.rotation.rds_ssl_usage": {
            "databases": [{"identifier": "shop-staging"}], "probe": False, "strict": True}},
        "rds:DescribeDBClusterParameters": {"rdsca.rotation.rds_ssl_usage": {
            "databases": [{"identifier": "ledger-maz-instance-1"}], "probe": False, "strict": True}},
        "rds:DescribeDBLogFiles": {"rdsca.rotation.rds_ssl_usage": {
            "databases": [{"identifier": "shop-logs"}], "probe": False, "strict": True, "log_window_days": 1}},
        "rds:DownloadDBLogFilePortion": {"rdsca.rotation.rds_ssl_usage": {
            "databases": [{"identifier": "shop-logs"}], "probe": False, "strict": True, "log_window_days": 1}},
        # shop-prod (MySQL) is on its default option group: the audit plugin's option is looked up.
        # shop-proxy stands in front of shop-staging: its targets are read too.
        "rds:DescribeDBProxies": {"rdsca.rotation.rds_ca_facts": {"regions": [REGION], "proxies": True, "strict": True}},
        "rds:DescribeDBProxyTargets": {"rdsca.rotation.rds_ca_facts": {"regions": [REGION], "proxies": True, "strict": True}},
        "rds:DescribeOptionGroups": {"rdsca.rotation.rds_ssl_usage": {
            "databases": [{"identifier": "shop-prod"}], "probe": False, "strict": True, "log_window_days": 1}},
        "logs:DescribeLogGroups": {"rdsca.rotation.rds_ssl_usage": {
            "databases": [{"identifier": "shop-logs"}], "probe": False, "strict": True, "log_window_days": 1,
            "log_source": "cloudwatch"}},
        "logs:FilterLogEvents": {"rdsca.rotation.rds_ssl_usage": {
            "databases": [{"identifier": "shop-logs"}], "probe": False, "strict": True, "log_window_days": 1,
            "log_source": "cloudwatch"}},
        "rds:ModifyDBInstance": {"rdsca.rotation.rds_ca_rotate": {"databases": ["shop-staging"], "poll_interval": 0.2}},
        "rds:ModifyDBCluster": {"rdsca.rotation.rds_ca_rotate": {"databases": ["ledger-maz"], "poll_interval": 0.2}},
        "rds:ModifyCertificates": {"rdsca.rotation.rds_ca_rotate": {"databases": [], "account_default": True}},
        "rds:ApplyPendingMaintenanceAction": {"rdsca.rotation.rds_ca_rotate": {
            "databases": ["shop-staging"], "apply": "pending_action", "opt_in_type": "next-maintenance"}},
    }
    return [tasks[action]]


def credentials(user_var: str) -> dict[str, str]:
    return {"access_key": "{{ %s.id }}" % user_var, "secret_key": "{{ %s.secret }}" % user_var}


def with_credentials(task: dict[str, Any], user_var: str) -> dict[str, Any]:
    task = dict(task)
    for key, args in list(task.items()):
        if key.startswith("rdsca.rotation."):
            task[key] = dict(args, **credentials(user_var))
    return task


def playbook_vars(directory: str, bundle: str, kind: str) -> dict[str, Any]:
    return {
        "rdsca_regions": "all" if kind == "audit" else [REGION],
        "rdsca_target_ca": TARGET,
        "rdsca_report_dir": os.path.join(directory, "reports-%s" % kind),
        "rdsca_ca_bundle": bundle,
        "rdsca_connect_host": "127.0.0.1",  # no server behind these endpoints: probes fail fast, as findings
        "rdsca_verify": "none",
        "rdsca_require_verified_staging": False,
        "rdsca_poll_interval": 0.2,
        "rdsca_verify_timeout": 2,
    }


@pytest.fixture(scope="module")
def bundle(enforced, tmp_path_factory):
    """A CA bundle with the target CA's root for every region the account has (rdsca_regions=all queries them all)."""
    from tests.simulator.pki import LocalPKI  # pylint: disable=import-outside-toplevel

    sim, _doc, _directory = enforced
    regions = [r["RegionName"] for r in sim.client("admin", "ec2").describe_regions()["Regions"]]
    directory = tmp_path_factory.mktemp("pki")
    path = LocalPKI(str(directory)).write_bundle(str(directory / "bundle.pem"), regions=regions, ca_identifiers=[TARGET])
    return str(path)


def latest_report(directory: str, kind: str) -> dict[str, Any]:
    report_dir = os.path.join(directory, "reports-%s" % kind)
    found = sorted(n for n in os.listdir(report_dir) if n.startswith(kind + "-") and n.endswith(".json"))
    assert found, "no %s report in %s" % (kind, report_dir)
    with open(os.path.join(report_dir, found[-1]), encoding="utf-8") as handle:
        return json.load(handle)


def test_least_privilege_proven_by_the_runs(enforced, bundle):
    """In order, so that nothing is changed before it is checked: each action removed (module calls), the audit
    without one action then with exactly its policy, the rotation without one action then with exactly its policy."""
    sim, doc, directory = enforced
    every = all_module_actions(doc)
    secrets = [secret for _key, secret in sim.keys.values()]

    # 1. Every action removed in turn: the module call that needs it fails with AccessDenied naming it.
    keys = dict(("u%d" % n, {"id": sim.keys["without-" + a.replace(":", "-")][0],
                             "secret": sim.keys["without-" + a.replace(":", "-")][1]}) for n, a in enumerate(every))
    checks = [(action, "r%d_%d" % (n, m), task) for n, action in enumerate(every) for m, task in enumerate(needing(action))]
    tasks = [dict(with_credentials(task, "u%d" % every.index(action)), name="without %s (%s)" % (action, name),
                  register=name, ignore_errors=True) for action, name, task in checks]
    play = {"hosts": "localhost", "gather_facts": False, "tasks": tasks, "save": [name for _a, name, _t in checks],
            "module_defaults": {"group/rdsca.rotation.rds_ca": {"endpoint_url": "{{ sim_endpoint_url }}",
                                                                "region": REGION}}}
    sim.reset_calls()
    denied = sim.run_playbook("admin", [play], extra_vars=keys)
    assert denied.rc == 0, denied.stdout[-4000:]
    for action, name, task in checks:
        registered = denied.task(name)
        assert registered.get("failed") is True, (action, registered)
        expected = "is not authorized to perform: %s" % action
        assert expected in registered["msg"], (action, registered["msg"])
        assert "user/without-%s" % action.replace(":", "-") in registered["msg"]
        if action in DISCOVERY and "rdsca.rotation.rds_ca_rotate" in task:
            assert registered["msg"].startswith("Nothing was changed: could not read region us-east-1 (%s: AccessDenied"
                                                % action.split(":")[1]), registered["msg"]
    admin = sim.client("admin")
    before = [(db["DBInstanceIdentifier"], db["CACertificateIdentifier"], db.get("PendingModifiedValues"))
              for db in admin.describe_db_instances()["DBInstances"]]
    assert all(ca == (TARGET if ident == "shop-logs" else OLD) and not pending for ident, ca, pending in before), \
        "a change went through: %s" % before
    assert admin.describe_certificates()["DefaultCertificateForNewLaunches"] == OLD

    # 2. The audit playbook without one of its actions fails, naming it; with exactly its policy, it passes.
    audit_actions = sorted(actions_of(doc["Policies"]["audit"]["PolicyDocument"]))
    audit_vars = playbook_vars(directory, bundle, "audit")
    short = sim.run_playbook("without-rds-DescribeDBInstances", os.path.join(PLAYBOOKS, "audit.yml"), extra_vars=audit_vars)
    assert short.rc != 0, short.stdout[-4000:]
    assert "not authorized to perform: rds:DescribeDBInstances" in short.stdout + short.stderr
    assert "not authorized to perform: rds:DescribeDBInstances" in json.dumps(latest_report(directory, "audit"))
    sim.reset_calls()
    audit = sim.run_playbook("audit", os.path.join(PLAYBOOKS, "audit.yml"), extra_vars=audit_vars)
    assert audit.rc == 0, audit.stdout[-6000:] + audit.stderr[-2000:]
    report = latest_report(directory, "audit")
    assert report["outcome"] == "completed", report.get("failures")
    calls = sim.calls()
    assert calls["errors"] == {}, calls["errors"]
    assert served(calls) == set(audit_actions), "the audit used exactly its policy's actions"

    # 3. The rotation without rds:ModifyDBInstance fails, naming it, before production; with exactly its policy,
    # it rotates everything.
    rotate_actions = sorted(actions_of(doc["Policies"]["rotate"]["PolicyDocument"]))
    rotate_vars = playbook_vars(directory, bundle, "rotate")
    short = sim.run_playbook("without-rds-ModifyDBInstance", os.path.join(PLAYBOOKS, "rotate.yml"), extra_vars=rotate_vars)
    assert short.rc != 0, short.stdout[-4000:]
    assert "not authorized to perform: rds:ModifyDBInstance" in short.stdout + short.stderr
    assert "not authorized to perform: rds:ModifyDBInstance" in json.dumps(latest_report(directory, "rotate"))
    assert admin.describe_db_instances(DBInstanceIdentifier="shop-prod")["DBInstances"][0]["CACertificateIdentifier"] == OLD
    sim.reset_calls()
    rotate = sim.run_playbook("rotate", os.path.join(PLAYBOOKS, "rotate.yml"), extra_vars=rotate_vars)
    assert rotate.rc == 0, rotate.stdout[-6000:] + rotate.stderr[-2000:]
    report = latest_report(directory, "rotate")
    assert report["outcome"] == "completed", report.get("failures")
    calls = sim.calls()
    assert calls["errors"] == {}, calls["errors"]
    # rdsca_regions is a list here (one ModifyCertificates task per region, not one per enabled region):
    # ec2:DescribeRegions, which rdsca_regions=all needs, was proven by the audit run.
    assert served(calls) == set(rotate_actions) - {"ec2:DescribeRegions"}, "the rotation used exactly its policy"
    for db in admin.describe_db_instances()["DBInstances"]:
        expected = (OLD, TARGET) if db["DBInstanceIdentifier"] == "shop-prod-restart" else (TARGET, None)
        assert (db["CACertificateIdentifier"], (db.get("PendingModifiedValues") or {}).get("CACertificateIdentifier")) \
            == expected, db["DBInstanceIdentifier"]
    cluster = admin.describe_db_clusters(DBClusterIdentifier="ledger-maz")["DBClusters"][0]
    assert cluster["CertificateDetails"]["CAIdentifier"] == TARGET
    assert admin.describe_certificates()["DefaultCertificateForNewLaunches"] == TARGET

    # No secret access key of any user in anything printed or registered.
    for result in (denied, audit, rotate):
        everything = result.stdout + result.stderr + json.dumps(result.results)
        assert not [s for s in secrets if s in everything]


def _playbook_text(playbook: str) -> str:
    files: set[str] = set()
    _task_files(os.path.join(REPO, playbook), files)
    out = []
    for path in sorted(files):
        with open(path, encoding="utf-8") as handle:
            out.append(handle.read())
    return "\n".join(out)


def test_each_policy_says_what_its_playbooks_accounts_and_proxies_add():
    """Issue 17: a playbook that passes rdsca_accounts/rdsca_organization to its modules says, in its policy, that the
    policy goes on each account's role and that the caller needs CrossAccount; one that passes rdsca_proxies names
    rds:DescribeDBProxies and rds:DescribeDBProxyTargets (left out of the policy itself: off by default)."""
    doc = load_policies()
    seen = {"accounts": set(), "proxies": set()}
    for name, policy in doc["Policies"].items():
        text = "".join(_playbook_text(playbook) for playbook in policy["Playbooks"])
        if "rdsca_account_settings.accounts" in text:
            seen["accounts"].add(name)
            assert "CrossAccount" in policy["Description"] and "each account's role" in policy["Description"], name
        if re.search(r"^\s*proxies:\s*\"\{\{\s*rdsca_proxies", text, re.M):
            seen["proxies"].add(name)
            for action in ("rds:DescribeDBProxies", "rds:DescribeDBProxyTargets"):
                assert action in policy["Description"], (name, action)
    # The playbooks that read several accounts and the proxies (a test of this test: the patterns still match).
    assert seen == {"accounts": {"inventory", "audit", "rotate", "rollback"}, "proxies": {"inventory", "audit", "rotate"}}
    boundary = doc["PermissionBoundary"]["Description"]
    assert "CrossAccount" in boundary and "sts:AssumeRole" in boundary and "rds:DescribeDBProxies" in boundary
