# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: ca_trust_stores
short_description: The trust stores of one client host, as rds_ca_trust_store's stores option
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - Used by the C(rdsca.rotation.ca_trust) role so that one C(rdsca.rotation.rds_ca_trust_store) run handles every
    trust store of a host (a host whose stores are up to date then costs one module run).
  - From the host's platform (C(debian), C(redhat), C(alpine), C(suse), C(macos)) and the role's variables, in this
    order - the system store (the platform's anchors directory, or the macOS keychain), the Java keystores, the
    bundle files, libpq's C(root.crt) of each user, the environment files.
positional: _input
options:
  _input:
    description:
      - The host's platform (C(ca_trust_platform)).
      - C(auto) when the host's facts are not known - the system store is then a store of type C(system) that
        C(rdsca.rotation.rds_ca_trust_store) resolves on the host from its C(os_family) (see O(os_family_platforms)).
    type: str
    required: true
  os_family_platforms:
    description: With C(auto), the platform of each C(os_family) (the role's C(ca_trust_os_family_platforms)).
    type: dict
    default: {}
  platforms:
    description: The platform table (the role's C(ca_trust_platforms)).
    type: dict
    required: true
  system_store:
    description: Whether to manage the system trust store.
    type: bool
    default: true
  macos_keychain:
    description: The macOS keychain of the system store.
    type: str
    default: /Library/Keychains/System.keychain
  java_keystores:
    description: The role's C(ca_trust_java_keystores).
    type: list
    elements: dict
    default: []
  bundle_files:
    description: The role's C(ca_trust_bundle_files).
    type: list
    elements: dict
    default: []
  libpq_users:
    description: The role's C(ca_trust_libpq_users).
    type: list
    elements: str
    default: []
  env_files:
    description: The role's C(ca_trust_env_files).
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
---
- name: Every trust store of this host in one module run
  rdsca.rotation.rds_ca_trust_store:
    certificates: "{{ ca_trust_certificates }}"
    targets: "{{ ca_trust_targets }}"
    stores: >-
      {{ ca_trust_platform | rdsca.rotation.ca_trust_stores(platforms=ca_trust_platforms,
           java_keystores=ca_trust_java_keystores, bundle_files=ca_trust_bundle_files,
           libpq_users=ca_trust_libpq_users, env_files=ca_trust_env_files) }}
"""

RETURN = r"""
_value:
  description: The O(rdsca.rotation.rds_ca_trust_store#module:stores) list.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

# keys of a role item -> the module's store option of the same meaning (keytool: the module's executable)
_JAVA_KEYS = {"path": "path", "password": "keystore_password", "type": "keystore_type", "create": "create",
              "keytool": "executable", "owner": "owner", "group": "group", "mode": "mode"}
_FILE_KEYS = ("path", "owner", "group", "mode", "create_parent")
_ENV_KEYS = ("path", "bundle", "variables", "export", "owner", "group", "mode")


def _items(value, name):
    if not isinstance(value, list) or not all(isinstance(item, dict) and item.get("path") for item in value):
        raise AnsibleFilterError("ca_trust_stores: %s must be a list of dicts, each with a path" % name)
    return value


def _pick(item, keys, **defaults):
    out = dict(defaults)
    pairs = keys.items() if isinstance(keys, dict) else ((k, k) for k in keys)
    for source, target in pairs:
        if item.get(source) is not None:
            out[target] = item[source]
    return out


def system_stores(platform, platforms, macos_keychain, os_family_platforms=None):
    if platform == "auto":  # chosen on the host by rds_ca_trust_store, from its os_family
        by_family = dict((family, system_stores(name, platforms, macos_keychain)[0])
                         for family, name in sorted((os_family_platforms or {}).items())
                         if name == "macos" or isinstance(platforms.get(name), dict))
        if not by_family:
            raise AnsibleFilterError("ca_trust_stores: platform auto needs os_family_platforms (the role's "
                                     "ca_trust_os_family_platforms)")
        return [{"type": "system", "label": "system", "platforms": by_family}]
    if platform == "macos":
        return [{"type": "keychain", "label": "macOS keychain %s" % macos_keychain, "path": macos_keychain}]
    entry = platforms.get(platform)
    if not isinstance(entry, dict):
        # The ca_trust role's platform is "unsupported" when the host's os_family has no entry in its table.
        raise AnsibleFilterError("ca_trust_stores: no system trust store known for platform %r (known: %s); set "
                                 "ca_trust_system_store_type to one of them (or windows) or ca_trust_system_store=false; "
                                 "nothing was changed" % (platform, ", ".join(sorted(list(platforms) + ["macos"]))))
    return [{"type": "directory", "label": "system (%s)" % platform, "path": entry["anchors_dir"],
             "suffix": entry["suffix"], "trusted_bundle": entry["trusted_bundle"], "owner": "root", "group": "root",
             "mode": "0644"}]


def ca_trust_stores(platform, platforms=None, system_store=True, macos_keychain="/Library/Keychains/System.keychain",
                    java_keystores=None, bundle_files=None, libpq_users=None, env_files=None, os_family_platforms=None):
    """The stores of one host, in the order the role has always handled them."""
    if not isinstance(platforms, dict):
        raise AnsibleFilterError("ca_trust_stores: platforms (the role's ca_trust_platforms) is required")
    stores = system_stores(platform, platforms, macos_keychain, os_family_platforms) if system_store else []
    for item in _items(java_keystores or [], "java_keystores"):
        if item.get("password") is None:
            raise AnsibleFilterError("ca_trust_stores: the Java keystore %s has no password" % item["path"])
        stores.append(_pick(item, _JAVA_KEYS, type="java", label="Java keystore %s" % item["path"]))
    for item in _items(bundle_files or [], "bundle_files"):
        stores.append(_pick(item, _FILE_KEYS, type="file", label="bundle file %s" % item["path"], mode="0644",
                            create_parent=True))
    users = libpq_users or []
    if not isinstance(users, list) or not all(isinstance(u, str) and u for u in users):
        raise AnsibleFilterError("ca_trust_stores: libpq_users must be a list of user names")
    stores += [{"type": "libpq", "user": user, "label": "libpq root.crt of %s" % user} for user in users]
    for item in _items(env_files or [], "env_files"):
        if not item.get("bundle"):
            raise AnsibleFilterError("ca_trust_stores: the environment file %s has no bundle" % item["path"])
        stores.append(_pick(item, _ENV_KEYS, type="env", label="environment file %s" % item["path"], mode="0644"))
    return stores


class FilterModule(object):
    def filters(self):
        return {"ca_trust_stores": ca_trust_stores}
