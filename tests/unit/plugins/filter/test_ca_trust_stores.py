"""ca_trust_stores: the role's variables as rds_ca_trust_store's stores (one module run per host, issue 19).

The platform table is the role's real vars/main.yml.
"""

from __future__ import annotations

import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.rdsca.rotation.plugins.filter.ca_trust_stores import FilterModule

ca_trust_stores = FilterModule().filters()["ca_trust_stores"]
ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "ca_trust")
with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as _handle:
    PLATFORMS = yaml.safe_load(_handle)["ca_trust_platforms"]


def test_every_kind_of_store_in_the_roles_order():
    stores = ca_trust_stores(
        "redhat", platforms=PLATFORMS,
        java_keystores=[{"path": "/opt/app/truststore.p12", "password": "s3cret", "type": "PKCS12", "create": True,
                         "keytool": "/usr/bin/keytool", "mode": "0640", "group": "app"}],
        bundle_files=[{"path": "/etc/ssl/rds.pem", "create_parent": False}],
        libpq_users=["app"],
        env_files=[{"path": "/etc/profile.d/rds-ca.sh", "bundle": "/etc/ssl/rds.pem", "variables": ["PGSSLROOTCERT"]}])
    assert [s["type"] for s in stores] == ["directory", "java", "file", "libpq", "env"]
    assert stores[0] == {"type": "directory", "label": "system (redhat)", "path": "/etc/pki/ca-trust/source/anchors",
                         "suffix": ".pem", "trusted_bundle": "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
                         "owner": "root", "group": "root", "mode": "0644"}
    assert stores[1] == {"type": "java", "label": "Java keystore /opt/app/truststore.p12",
                         "path": "/opt/app/truststore.p12", "keystore_password": "s3cret", "keystore_type": "PKCS12",
                         "create": True, "executable": "/usr/bin/keytool", "mode": "0640", "group": "app"}
    assert stores[2]["create_parent"] is False and stores[2]["mode"] == "0644"
    assert stores[3] == {"type": "libpq", "user": "app", "label": "libpq root.crt of app"}
    assert stores[4]["variables"] == ["PGSSLROOTCERT"] and stores[4]["bundle"] == "/etc/ssl/rds.pem"


def test_system_store_off_macos_keychain_and_windows():
    assert ca_trust_stores("debian", platforms=PLATFORMS, system_store=False) == []
    assert ca_trust_stores("macos", platforms=PLATFORMS, macos_keychain="/tmp/k") == [
        {"type": "keychain", "label": "macOS keychain /tmp/k", "path": "/tmp/k"}]
    with pytest.raises(AnsibleFilterError, match="no system trust store known for platform 'windows'"):
        ca_trust_stores("windows", platforms=PLATFORMS)


@pytest.mark.parametrize("kwargs, message", [
    ({"java_keystores": [{"path": "/k.p12"}]}, "has no password"),
    ({"bundle_files": [{"mode": "0644"}]}, "bundle_files must be a list of dicts, each with a path"),
    ({"env_files": [{"path": "/e.sh"}]}, "has no bundle"),
    ({"libpq_users": [""]}, "libpq_users must be a list of user names"),
    ({"platforms": None}, "platforms"),
])
def test_bad_role_variables_are_refused(kwargs, message):
    args = dict({"platforms": PLATFORMS, "system_store": False}, **kwargs)
    with pytest.raises(AnsibleFilterError, match=message):
        ca_trust_stores("debian", **args)


def test_auto_leaves_the_system_store_to_the_hosts_os_family():
    with open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as handle:
        families = yaml.safe_load(handle)["ca_trust_os_family_platforms"]
    stores = ca_trust_stores("auto", platforms=PLATFORMS, os_family_platforms=families,
                             macos_keychain="/Library/Keychains/System.keychain",
                             bundle_files=[{"path": "/etc/ssl/rds.pem"}])
    assert [s["type"] for s in stores] == ["system", "file"]
    by_family = stores[0]["platforms"]
    # every family the role knows except Windows (its own tasks), each the store its platform has
    assert sorted(by_family) == sorted(f for f, p in families.items() if p != "windows")
    for family, platform in families.items():
        if platform != "windows":
            assert by_family[family] == ca_trust_stores(platform, platforms=PLATFORMS)[0], family
    with pytest.raises(AnsibleFilterError, match="os_family_platforms"):
        ca_trust_stores("auto", platforms=PLATFORMS)
