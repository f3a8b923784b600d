# -*- coding: utf-8 -*-
# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every connection the collection opens verifies certificates and host names by default.

Two kinds of proof:

* an audit of the shipped code (plugins/, roles/, playbooks/): every place that could weaken TLS
  (CERT_NONE, check_hostname = False, verify=False, validate_certs off, an sslmode other than
  verify-full, ssl_disabled...) must be in ALLOWED, with the reason it is acceptable - either (a) an
  explicit, documented opt-out that prints a warning, or (b) the documented diagnostic second
  handshake of tls_probe, which sends no credentials and no query and never counts as verified.
  A new occurrence fails this test until someone writes down why it is safe;
* the defaults themselves: the contexts, the database drivers' arguments, the AWS clients and the
  bundle download verify; the opt-outs warn.

The probe's behaviour against real TLS servers (a bundle without the CA, a wrong host name, an
expired chain, the diagnostic handshake never verifying) is in module_utils/test_tls_probe.py and
tests/integration/test_rds_ssl_usage.py.
"""

from __future__ import absolute_import, division, print_function

import os
import re
import ssl

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.rdsca.rotation.plugins.doc_fragments.database_login import ModuleDocFragment
from ansible_collections.rdsca.rotation.plugins.module_utils import aws as aws_utils
from ansible_collections.rdsca.rotation.plugins.module_utils import ssl_usage
from ansible_collections.rdsca.rotation.plugins.module_utils import tls_probe
from ansible_collections.rdsca.rotation.plugins.modules import rds_ca_bundle
from ansible_collections.rdsca.rotation.plugins.modules import rds_ssl_usage

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SHIPPED = ("plugins", "roles", "playbooks")

# What could switch TLS verification off, in Python or in YAML.
PATTERNS = {
    "CERT_NONE": re.compile(r"\bCERT_NONE\b"),
    "CERT_OPTIONAL": re.compile(r"\bCERT_OPTIONAL\b"),
    "check_hostname off": re.compile(r"check_hostname\s*=\s*False"),
    "unverified context": re.compile(r"_create_unverified_context|_create_default_https_context"),
    "verify off": re.compile(r"""\bverify\b["']?\s*[=:]\s*(False|false|no)\b"""),
    "validate_certs off": re.compile(r"""validate_certs["']?\s*[=:]\s*(False|false|no|0)\b"""),
    "weak sslmode": re.compile(r"""sslmode["']?\]?\s*[=:]\s*["']?(disable|allow|prefer|require|verify-ca)\b"""),
    "ssl_disabled": re.compile(r"\bssl_disabled\b"),
    "ssl verification off": re.compile(r"""ssl_verify_(cert|identity)["']?\s*[=:]\s*(False|false)"""),
    "insecure flag": re.compile(r"--insecure\b|\bcurl\s+-k\b|-noverify\b"),
    "ssl_mode disable default": re.compile(r"""ssl_mode\b.*default\s*[=(]\s*["']disable"""),
    "no time check": re.compile(r"NO_CHECK_TIME\s*=|\|\s*(tls_probe\.)?X509_V_FLAG_NO_CHECK_TIME"),
}

# (file, pattern, the exact line) -> why it is acceptable.
ALLOWED = {
    ("plugins/module_utils/tls_probe.py", "check_hostname off", "context.check_hostname = False"):
        "(b) _diagnostic_context(), used only by _diagnostic_handshake(): after verification failed, a second "
        "handshake reads what the server presented so the result can say why; no credentials, no query, closed "
        "right after the handshake, and its result never counts as verified (documented in rds_ssl_usage, "
        "rds_ca_trust_verify and tls_probe).",
    ("plugins/module_utils/tls_probe.py", "CERT_NONE", "context.verify_mode = ssl.CERT_NONE"):
        "(b) the same diagnostic context of _diagnostic_handshake(): reads the certificate, never trusts it.",
    ("plugins/module_utils/aws.py", "validate_certs off",
     'warn(self.module, "validate_certs=false: the TLS certificates of the AWS API endpoints are NOT "'):
        "(a) not a weakening: the warning every AWS module prints when amazon.aws's documented validate_certs "
        "option (default true) is set to false.",
    ("plugins/module_utils/ssl_usage.py", "weak sslmode", 'kwargs["sslmode"] = "disable"'):
        "(a) rds_ssl_usage ssl_mode=disable: an explicit, documented option (default verify-full) for servers "
        "without TLS; the module warns that the login travels in clear.",
    ("plugins/module_utils/ssl_usage.py", "weak sslmode",
     'application_name=APPLICATION_NAME, sslmode="require", channel_binding="require",'):
        "(a) rds_ssl_usage allow_expired_ca, PostgreSQL: an explicit, documented option (default none) that warns "
        "per database. Right before this login the chain and host name are verified on the module's own handshake "
        "(tls_probe.expiry_tolerant_wrap: only the listed RDS CA's expiry set aside), and channel_binding=require "
        "(SCRAM-SHA-256-PLUS) binds the login to the certificate of libpq's own TLS session.",
    ("plugins/module_utils/tls_probe.py", "no time check", "X509_V_FLAG_NO_CHECK_TIME = 0x200000"):
        "(a) the flag of rds_ssl_usage allow_expired_ca (explicit, documented, warns): chain and host name are "
        "still verified by OpenSSL; validity periods are checked by tls_probe.check_tolerated_expiry on the "
        "verified chain, which sets aside only the listed RDS CA's expiry.",
    ("plugins/module_utils/tls_probe.py", "no time check",
     "context.verify_flags = int(context.verify_flags) | X509_V_FLAG_NO_CHECK_TIME"):
        "(a) expiry_tolerant_context(), always followed by check_tolerated_expiry on the same handshake "
        "(expiry_tolerant_wrap); only with allow_expired_ca.",
    ("plugins/module_utils/ssl_usage.py", "no time check",
     "context.verify_flags = int(context.verify_flags) | tls_probe.X509_V_FLAG_NO_CHECK_TIME"):
        "(a) ExpiryTolerantContext (MySQL/MariaDB with allow_expired_ca): its wrap_socket runs "
        "check_tolerated_expiry on the verified chain before the driver sends anything.",
    ("plugins/module_utils/ssl_usage.py", "ssl_disabled", 'kwargs["ssl_disabled"] = True'):
        "(a) the same explicit ssl_mode=disable option of rds_ssl_usage, for MySQL and MariaDB; it warns.",
}


def findings():
    """``{(file, pattern, line)}`` for every match in the shipped code."""
    found = set()
    for top in SHIPPED:
        for root, _dirs, names in os.walk(os.path.join(ROOT, top)):
            for name in names:
                if not name.endswith((".py", ".yml", ".yaml", ".j2", ".sh", ".ps1", ".cfg", ".ini")):
                    continue
                path = os.path.join(root, name)
                relative = os.path.relpath(path, ROOT)
                with open(path, encoding="utf-8", errors="replace") as handle:
                    for line in handle:
                        for label, pattern in PATTERNS.items():
                            if pattern.search(line):
                                found.add((relative, label, line.strip()))
    return found


def test_every_way_to_weaken_tls_is_allowed_explicitly_with_a_reason():
    found = findings()
    unexplained = sorted(found - set(ALLOWED))
    assert unexplained == [], "TLS verification weakened without a written reason (add it to ALLOWED, or fix it): %s" % (
        unexplained,)
    stale = sorted(set(ALLOWED) - found)
    assert stale == [], "ALLOWED lists what is no longer in the code: %s" % (stale,)
    assert all(len(reason) > 40 for reason in ALLOWED.values())


def test_the_patterns_catch_what_they_are_for():
    samples = {
        "CERT_NONE": "ctx.verify_mode = ssl.CERT_NONE",
        "check_hostname off": "ctx.check_hostname = False",
        "unverified context": "ssl._create_unverified_context()",
        "verify off": "boto3.client('rds', verify=False)",
        "validate_certs off": "    validate_certs: false",
        "weak sslmode": "psycopg2.connect(sslmode='require')",
        "ssl_disabled": "pymysql.connect(ssl_disabled=True)",
        "insecure flag": "curl -k https://example",
        "ssl_mode disable default": 'ssl_mode=dict(type="str", default="disable")',
    }
    for label, line in samples.items():
        assert PATTERNS[label].search(line), label
    assert not PATTERNS["weak sslmode"].search('kwargs.update(sslmode="verify-full", sslrootcert=root)')


def test_the_diagnostic_context_serves_the_diagnostic_handshake_only():
    with open(os.path.join(ROOT, "plugins", "module_utils", "tls_probe.py"), encoding="utf-8") as handle:
        source = handle.read()
    assert len(re.findall(r"_diagnostic_context\(\)", source)) == 2  # its definition and one call
    call = source.index("return _handshake(protocol, server_name, address, _diagnostic_context(), timeout, connect_timeout)")
    assert source.rindex("def ", 0, call) == source.index("def _diagnostic_handshake(")
    for path in ("plugins/module_utils/ssl_usage.py", "plugins/module_utils/rotation_aws.py",
                 "plugins/modules/rds_ca_trust_verify.py"):
        with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
            assert "_diagnostic" not in handle.read(), path


# -- the defaults ------------------------------------------------------------------------------------

def test_probe_and_login_contexts_verify_chain_and_host_name(tmp_path):
    for context in (tls_probe.verifying_context(), tls_probe.shared_verifying_context(),
                    ssl_usage.server_name_context("db.example.test")):
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname is True
    assert ssl_usage.server_name_context("db.example.test").pinned_server_name == "db.example.test"


class Captured(Exception):
    pass


def test_database_logins_verify_full_unless_told_otherwise(monkeypatch):
    seen = {}

    def capture(kind):
        def connect(**kwargs):
            seen[kind] = kwargs
            raise Captured()
        return connect

    monkeypatch.setattr(ssl_usage, "psycopg2", type("pg", (), {"connect": staticmethod(capture("postgres"))}), raising=False)
    monkeypatch.setattr(ssl_usage, "pymysql", type("my", (), {"connect": staticmethod(capture("mysql"))}), raising=False)
    monkeypatch.setattr(ssl_usage, "system_ca_file", lambda: "/etc/ssl/certs/ca-certificates.crt")
    for kind in ("postgres", "mysql"):
        with pytest.raises(Captured):
            ssl_usage.connect(kind, "db.example.test", 5432, "127.0.0.1", "monitor", "pw")
    assert seen["postgres"]["sslmode"] == "verify-full" and seen["postgres"]["sslrootcert"]
    assert "ssl_disabled" not in seen["mysql"]
    assert seen["mysql"]["ssl"].verify_mode == ssl.CERT_REQUIRED and seen["mysql"]["ssl"].check_hostname is True
    # Only the explicit option turns TLS off.
    for kind in ("postgres", "mysql"):
        with pytest.raises(Captured):
            ssl_usage.connect(kind, "db.example.test", 5432, "127.0.0.1", "monitor", "pw", ssl_mode="disable")
    assert seen["postgres"]["sslmode"] == "disable" and seen["mysql"]["ssl_disabled"] is True
    assert rds_ssl_usage.argument_spec()["ssl_mode"]["default"] == "verify-full"


class Exit(Exception):
    def __init__(self, result):
        super(Exit, self).__init__("exit")
        self.result = result


def test_ssl_mode_disable_warns(monkeypatch):
    warnings = []
    monkeypatch.setattr(aws_utils, "warn", lambda module, text: warnings.append(text))

    def exit_json(self, **kwargs):
        raise Exit(kwargs)

    monkeypatch.setattr(rds_ssl_usage.AnsibleAWSModule, "exit_json", exit_json)
    for mode in ("verify-full", "disable"):
        with patch_module_args({"databases": [], "ssl_mode": mode, "region": "us-east-1", "access_key": "AKIAFAKE",
                                "secret_key": "fake"}):
            with pytest.raises(Exit):
                rds_ssl_usage.main()
    assert len(warnings) == 1
    assert warnings[0].startswith("ssl_mode=disable: the module's database connections are NOT encrypted")
    # ssl_mode is documented by the database login fragment the module extends (issue 16).
    assert "  - rdsca.rotation.database_login\n" in rds_ssl_usage.DOCUMENTATION
    assert "and the module prints a warning saying so" in ModuleDocFragment.DOCUMENTATION


class FakeModule:
    def __init__(self, **params):
        self.params = dict(access_key="AKIAFAKE", secret_key="fake", session_token=None, profile=None,
                           endpoint_url="https://127.0.0.1:9", validate_certs=True, aws_ca_bundle=None,
                           aws_config=None, region="us-east-1")
        self.params.update(params)
        self.warnings = []

    @property
    def region(self):
        return self.params["region"]

    def warn(self, text):
        self.warnings.append(text)

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)

    def fail_json_aws(self, exception, msg=None, **kwargs):
        raise AssertionError(msg, exception)


def _verify_of(client):
    return client.client._endpoint.http_session._verify


def test_aws_clients_verify_by_default_and_warn_when_told_not_to(tmp_path):
    default = FakeModule()
    assert _verify_of(aws_utils.RegionClients(default).get("rds", "us-east-1")) is True
    assert default.warnings == []
    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_text("")
    pinned = FakeModule(aws_ca_bundle=str(bundle))
    assert _verify_of(aws_utils.RegionClients(pinned).get("rds", "us-east-1")) == str(bundle)
    off = FakeModule(validate_certs=False)
    assert _verify_of(aws_utils.RegionClients(off).get("rds", "us-east-1")) is False
    assert len(off.warnings) == 1 and off.warnings[0].startswith("validate_certs=false: the TLS certificates of the AWS")


def test_bundle_download_always_verifies(monkeypatch):
    seen = {}

    class Response:
        def geturl(self):
            return "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"

        def read(self, _size):
            return b"pem"

    def open_url(url, **kwargs):
        seen.update(kwargs, url=url)
        return Response()

    monkeypatch.setattr(rds_ca_bundle, "open_url", open_url)
    assert rds_ca_bundle.fetch("https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem", 5) == b"pem"
    assert seen["validate_certs"] is True and seen["follow_redirects"] == "safe"
    assert "validate_certs" not in rds_ca_bundle.argument_spec()  # there is no option to turn it off
