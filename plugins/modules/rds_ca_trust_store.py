#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: rds_ca_trust_store
short_description: Put a set of CA certificates into one trust store of a client host, or audit it
version_added: 0.1.0
description:
  - Used by the C(rdsca.rotation.ca_trust) role on each client host, once per trust store, with the
    certificates the C(rdsca.rotation.rds_ca_bundle) module validated on the controller. One call handles
    every certificate, so a 108-certificate bundle costs one module run, not 108.
  - "O(type=directory): one file C(<name><suffix>) per certificate in a directory read by the system's
    update tool (C(/usr/local/share/ca-certificates), C(/etc/pki/ca-trust/source/anchors)...). The
    caller runs the update tool (a handler) when C(changed)."
  - "O(type=file): all certificates concatenated in one PEM file (an application bundle, libpq C(root.crt))."
  - "O(type=java): one trusted certificate entry per certificate, alias C(<name>), in a Java keystore,
    with C(keytool) (one C(keytool -list) per run, one C(keytool -importcert) per missing certificate)."
  - "O(type=keychain): macOS keychain, with C(security find-certificate) and C(security add-trusted-cert -d -r trustRoot)."
  - A certificate counts as present when its SHA-256 fingerprint is in the store, whatever its file
    name or alias. RV(missing) lists the O(targets) absent from the store as it was when the module
    started (for O(type=directory), from O(trusted_bundle), the compiled bundle the system really uses).
  - In check mode nothing changes, and RV(missing) is the audit (the target CAs this store lacks).
  - Needs only the Python standard library on the client host.
author:
  - rdsca.rotation maintainers (@rdsca)
options:
  type:
    description: The kind of trust store.
    type: str
    required: true
    choices: [directory, file, java, keychain]
  path:
    description: The directory, the bundle file, the keystore, or the keychain.
    type: path
    required: true
  label:
    description: A name for the store in reports, returned as RV(label). Defaults to O(path).
    type: str
  certificates:
    description:
      - The certificates that must be in the store, each a dict with C(name) (the stable name, used for
        file names and aliases) and C(pem) (one certificate). Other keys are ignored.
    type: list
    elements: dict
    required: true
  targets:
    description:
      - Names of the certificates whose absence RV(missing) reports. Defaults to all of O(certificates).
    type: list
    elements: str
  suffix:
    description: File name suffix, O(type=directory).
    type: str
    default: .crt
  prefix:
    description:
      - Names (files, aliases, keychain certificates' common names as slugs) starting with this are
        considered installed by this module, and are the only ones O(remove_expired) may remove.
    type: str
    default: amazon-rds-
  remove_expired:
    description:
      - Remove the certificates named with O(prefix) whose validity has ended, if not in O(certificates).
    type: bool
    default: false
  trusted_bundle:
    description:
      - O(type=directory), the PEM bundle the system compiles from the directory
        (C(/etc/ssl/certs/ca-certificates.crt)...). RV(missing) is computed from it when it exists, and
        when it lacks a certificate that is already in the directory (an update that did not run), the
        module reports C(changed) and RV(refresh) so that the caller's update handler runs.
    type: path
  owner:
    description: Owner of the files, or of the keystore.
    type: str
  group:
    description: Group of the files, or of the keystore.
    type: str
  mode:
    description: Mode of the files, or of the keystore. Defaults to C(0644) for new files.
    type: raw
  create_parent:
    description: O(type=file), create the parent directory when missing (with O(owner), O(group), O(parent_mode)).
    type: bool
    default: false
  parent_mode:
    description: Mode of a parent directory O(create_parent) creates.
    type: raw
    default: "0755"
  keystore_password:
    description: O(type=java), the keystore password (given to keytool through the environment, never on its command line).
    type: str
  keystore_type:
    description: O(type=java), the keystore type (C(PKCS12), C(JKS)); keytool's default when unset.
    type: str
  create:
    description:
      - O(type=java), create the keystore (and its directory) when it does not exist, with O(keystore_password).
    type: bool
    default: false
  executable:
    description: C(keytool) (O(type=java)) or C(security) (O(type=keychain)), a name on the PATH or a path.
    type: str
notes:
  - Supports check mode.
"""

EXAMPLES = r"""
- name: Debian trust anchors
  rdsca.rotation.rds_ca_trust_store:
    type: directory
    path: /usr/local/share/ca-certificates
    trusted_bundle: /etc/ssl/certs/ca-certificates.crt
    certificates: "{{ rds_bundle.certificates }}"
  notify: Update the system CA trust store

- name: An application truststore
  rdsca.rotation.rds_ca_trust_store:
    type: java
    path: /opt/app/conf/truststore.p12
    keystore_password: "{{ vault_truststore_password }}"
    create: true
    certificates: "{{ rds_bundle.certificates }}"
"""

RETURN = r"""
label:
  description: O(label).
  returned: always
  type: str
store:
  description: O(path).
  returned: always
  type: str
added:
  description: Names of the certificates added (or that would be, in check mode).
  returned: always
  type: list
  elements: str
updated:
  description: Names whose file or alias held another content and was replaced.
  returned: always
  type: list
  elements: str
removed:
  description:
    - Names removed by O(remove_expired); for O(type=file), certificates the file held that are not in O(certificates).
  returned: always
  type: list
  elements: str
present:
  description: Names of O(certificates) already in the store when the module started.
  returned: always
  type: list
  elements: str
missing:
  description: Names of O(targets) the store lacked when the module started.
  returned: always
  type: list
  elements: str
refresh:
  description: O(type=directory), the directory was up to date but O(trusted_bundle) lacked some of it.
  returned: always
  type: bool
"""

import abc
import datetime
import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import DERError
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import BundleError
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import der_summary
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import fingerprint
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import fingerprints_in
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import slugify
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import split_pem

UTC = datetime.timezone.utc
KEYSTORE_PASSWORD_ENV = "RDSCA_KEYSTORE_PASSWORD"
_ALIAS_LINE = re.compile(r"^Alias name: (.*)$", re.M)
_ENTRY_TYPE = re.compile(r"^Entry type: (.*)$", re.M)


class StoreError(Exception):
    pass


def desired_certificates(certificates):
    """``[{"name", "pem", "der", "sha256"}...]`` from the module's ``certificates`` (each exactly one certificate)."""
    result = []
    seen = set()
    for item in certificates:
        name = item.get("name")
        if not name or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", name):
            raise StoreError("certificate name %r is not a safe file name / alias" % (name,))
        if name in seen:
            raise StoreError("certificate name %r appears twice" % name)
        seen.add(name)
        try:
            blocks = split_pem(item.get("pem") or "", "certificate %s" % name)["blocks"]
        except BundleError as exc:
            raise StoreError(str(exc))
        if len(blocks) != 1:
            raise StoreError("certificate %s holds %d certificates, not one" % (name, len(blocks)))
        der = blocks[0]["der"]
        result.append({"name": name, "pem": blocks[0]["pem"], "der": der, "sha256": fingerprint(der)})
    return result


def expired(der, now):
    """True when a DER certificate's validity has ended (False when it cannot be read: never remove what we cannot judge)."""
    try:
        return der_summary(der)["not_after"] <= now
    except (DERError, ValueError):
        return False


def pem_ders(text):
    """DER of every certificate block in ``text`` (lenient)."""
    try:
        return [b["der"] for b in split_pem(text)["blocks"]]
    except BundleError:
        return []


class Store(abc.ABC):
    """What every store does: compare, plan, apply. Subclasses read and write."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.now = datetime.datetime.now(UTC)
        self.result = {"changed": False, "store": self.params["path"], "label": self.params["label"] or self.params["path"],
                       "added": [], "updated": [], "removed": [],
                       "present": [], "missing": [], "refresh": False}

    @abc.abstractmethod
    def run(self, desired, targets):
        """Bring the store to hold the desired certificates (audit only in check mode)."""

    def report_presence(self, desired, targets, present_fingerprints):
        for cert in desired:
            if cert["sha256"] in present_fingerprints:
                self.result["present"].append(cert["name"])
            elif cert["name"] in targets:
                self.result["missing"].append(cert["name"])

    def attributes(self, path, is_dir=False):
        """Apply owner/group/mode; returns whether anything changed."""
        changed = False
        params = self.params
        mode = params["parent_mode"] if is_dir else params["mode"]
        if params["owner"]:
            changed = self.module.set_owner_if_different(path, params["owner"], changed)
        if params["group"]:
            changed = self.module.set_group_if_different(path, params["group"], changed)
        if mode is not None:
            changed = self.module.set_mode_if_different(path, mode, changed)
        return changed

    def write(self, path, content):
        """Atomically write ``content`` (text) to ``path``, then apply the attributes."""
        if self.check_mode:
            return
        directory = os.path.dirname(path)
        handle, tmp = tempfile.mkstemp(prefix=".rdsca-", dir=directory)
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(content.encode("ascii"))
            os.chmod(tmp, 0o644)
            self.module.atomic_move(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        self.attributes(path)


class DirectoryStore(Store):
    """One file per certificate in a directory (Debian, RHEL, Alpine, SUSE anchors; a macOS staging dir)."""

    def run(self, desired, targets):
        directory = self.params["path"]
        suffix = self.params["suffix"]
        prefix = self.params["prefix"]
        if os.path.exists(directory) and not os.path.isdir(directory):
            raise StoreError("%s is not a directory" % directory)
        if not os.path.isdir(directory):
            self.result["changed"] = True
            if not self.check_mode:
                os.makedirs(directory, 0o755)
        files = {}
        if os.path.isdir(directory):
            for entry in sorted(os.listdir(directory)):
                path = os.path.join(directory, entry)
                if entry.endswith(suffix) and os.path.isfile(path):
                    with open(path, "rb") as stream:
                        files[entry] = stream.read()
        in_directory = set()
        for content in files.values():
            in_directory.update(fingerprints_in(content))

        trusted = self.params["trusted_bundle"]
        if trusted:
            # No compiled bundle at all means nothing is trusted yet (the update tool never ran).
            effective = set()
            if os.path.isfile(trusted):
                with open(trusted, "rb") as stream:
                    effective = set(fingerprints_in(stream.read()))
        else:
            effective = in_directory
        self.report_presence(desired, targets, effective)

        wanted = set()
        for cert in desired:
            entry = cert["name"] + suffix
            wanted.add(entry)
            path = os.path.join(directory, entry)
            current = files.get(entry)
            if current is not None and current.replace(b"\r\n", b"\n") == cert["pem"].encode("ascii"):
                if os.path.isdir(directory) and self.attributes(path):
                    self.result["changed"] = True
                continue
            (self.result["updated"] if current is not None else self.result["added"]).append(cert["name"])
            self.write(path, cert["pem"])

        if self.params["remove_expired"]:
            for entry, content in sorted(files.items()):
                if entry in wanted or not entry.startswith(prefix):
                    continue
                ders = pem_ders(content)
                if ders and all(expired(der, self.now) for der in ders):
                    self.result["removed"].append(entry[:-len(suffix)] if suffix else entry)
                    if not self.check_mode:
                        os.remove(os.path.join(directory, entry))

        if trusted and not (self.result["added"] or self.result["updated"]):
            # Everything is in the directory, but the compiled bundle lacks some of it: the update
            # tool did not run after an earlier change (a failed play). Ask for it again.
            lacking = [c["name"] for c in desired if c["sha256"] in in_directory and c["sha256"] not in effective]
            if lacking:
                self.result["refresh"] = True
        if self.result["added"] or self.result["updated"] or self.result["removed"] or self.result["refresh"]:
            self.result["changed"] = True


class FileStore(Store):
    """All certificates concatenated in one file."""

    def run(self, desired, targets):
        path = self.params["path"]
        parent = os.path.dirname(path) or "."
        content = "".join(cert["pem"] for cert in desired)
        current = None
        if os.path.isdir(path):
            raise StoreError("%s is a directory" % path)
        if os.path.isfile(path):
            with open(path, "rb") as stream:
                current = stream.read()
        self.report_presence(desired, targets, set(fingerprints_in(current or b"")))
        if not os.path.isdir(parent):
            if not self.params["create_parent"]:
                raise StoreError("the directory %s does not exist (create_parent creates it)" % parent)
            self.result["changed"] = True
            if not self.check_mode:
                os.makedirs(parent, 0o755)
                self.attributes(parent, is_dir=True)
        if current is not None and current.replace(b"\r\n", b"\n") == content.encode("ascii"):
            if self.attributes(path):
                self.result["changed"] = True
            return
        before = pem_ders(current or b"")
        before_fingerprints = set(fingerprint(der) for der in before)
        after_fingerprints = set(c["sha256"] for c in desired)
        self.result["added"] = [c["name"] for c in desired if c["sha256"] not in before_fingerprints]
        for der in before:
            if fingerprint(der) not in after_fingerprints:
                try:
                    name = slugify(der_summary(der)["subject_cn"]) or fingerprint(der)[:16]
                except (DERError, ValueError):
                    name = fingerprint(der)[:16]
                self.result["removed"].append(name)
        self.result["changed"] = True
        self.write(path, content)


class JavaStore(Store):
    """Trusted certificate entries of a Java keystore, through keytool."""

    def __init__(self, module):
        super(JavaStore, self).__init__(module)
        executable = self.params["executable"] or "keytool"
        if os.path.sep in executable:
            if not os.access(executable, os.X_OK):
                raise StoreError("keytool %s is not an executable file" % executable)
            self.keytool = executable
        else:
            self.keytool = module.get_bin_path(executable, opt_dirs=["/usr/lib/jvm/default-java/bin"])
            if not self.keytool:
                raise StoreError("%s not found on this host: install a Java runtime, or set the keytool path" % executable)
        if self.params["keystore_password"] is None:
            raise StoreError("keystore_password is required for a Java keystore")

    def keytool_run(self, args):
        # English output to parse; a JVM that starts faster (no optimising JIT, one GC thread) for short runs.
        command = [self.keytool, "-J-Duser.language=en", "-J-Duser.country=US", "-J-XX:TieredStopAtLevel=1",
                   "-J-XX:+UseSerialGC"] + args + [
            "-keystore", self.params["path"], "-storepass:env", KEYSTORE_PASSWORD_ENV]
        if self.params["keystore_type"]:
            command += ["-storetype", self.params["keystore_type"]]
        rc, out, err = self.module.run_command(command, environ_update={
            KEYSTORE_PASSWORD_ENV: self.params["keystore_password"], "LC_ALL": "C", "LANG": "C"})
        if rc != 0:
            text = " ".join((out + " " + err).split())
            if "password was incorrect" in text or "keystore password was incorrect" in text:
                raise StoreError("the password of the keystore %s is incorrect" % self.params["path"])
            raise StoreError("keytool %s on %s failed (rc=%d): %s" % (args[0], self.params["path"], rc, text[-600:]))
        return out

    def entries(self):
        """``{alias: (entry_type, [der, ...])}`` of the keystore."""
        listing = self.keytool_run(["-list", "-rfc"])
        result = {}
        starts = list(_ALIAS_LINE.finditer(listing))
        for number, match in enumerate(starts):
            end = starts[number + 1].start() if number + 1 < len(starts) else len(listing)
            section = listing[match.end():end]
            entry_type = _ENTRY_TYPE.search(section)
            result[match.group(1).strip()] = (entry_type.group(1).strip() if entry_type else "", pem_ders(section))
        return result

    def run(self, desired, targets):
        path = self.params["path"]
        exists = os.path.isfile(path)
        if not exists and not self.params["create"] and not self.check_mode:
            raise StoreError("the keystore %s does not exist (create: true creates it)" % path)
        entries = self.entries() if exists else {}
        trusted = {}
        for alias, (entry_type, ders) in entries.items():
            if entry_type == "trustedCertEntry" and ders:
                trusted[alias] = ders[0]
        by_fingerprint = dict((fingerprint(der), alias) for alias, der in trusted.items())
        self.report_presence(desired, targets, set(by_fingerprint))
        if not exists and not self.params["create"]:
            self.module.warn("the keystore %s does not exist" % path)
            return

        parent = os.path.dirname(path)
        if not exists and parent and not os.path.isdir(parent):
            self.result["changed"] = True
            if not self.check_mode:
                os.makedirs(parent, 0o755)

        wanted = set()
        for cert in desired:
            alias = cert["name"].lower()  # keytool lower-cases aliases of JKS keystores
            wanted.add(alias)
            if cert["sha256"] in by_fingerprint:
                continue
            if alias in entries:
                self.result["updated"].append(cert["name"])
                if not self.check_mode:
                    self.keytool_run(["-delete", "-alias", alias])
            else:
                self.result["added"].append(cert["name"])
            if not self.check_mode:
                handle, tmp = tempfile.mkstemp(suffix=".pem", dir=self.module.tmpdir)
                with os.fdopen(handle, "w") as stream:
                    stream.write(cert["pem"])
                self.keytool_run(["-importcert", "-noprompt", "-alias", alias, "-file", tmp])

        if self.params["remove_expired"]:
            for alias, der in sorted(trusted.items()):
                if alias not in wanted and alias.startswith(self.params["prefix"].lower()) and expired(der, self.now):
                    self.result["removed"].append(alias)
                    if not self.check_mode:
                        self.keytool_run(["-delete", "-alias", alias])

        changed = bool(self.result["added"] or self.result["updated"] or self.result["removed"] or self.result["changed"])
        if os.path.isfile(path):
            changed = self.attributes(path) or changed
        self.result["changed"] = changed


class KeychainStore(Store):
    """A macOS keychain, through security(1). Certificates are trusted for every use (trustRoot, admin domain)."""

    def __init__(self, module):
        super(KeychainStore, self).__init__(module)
        executable = self.params["executable"] or "security"
        self.security = executable if os.path.sep in executable else module.get_bin_path(executable)
        if not self.security:
            raise StoreError("%s not found on this host (the keychain type is for macOS)" % executable)

    def security_run(self, args):
        rc, out, err = self.module.run_command([self.security] + args)
        if rc != 0:
            raise StoreError("security %s failed (rc=%d): %s" % (args[0], rc, " ".join((out + " " + err).split())[-600:]))
        return out

    def run(self, desired, targets):
        keychain = self.params["path"]
        ders = pem_ders(self.security_run(["find-certificate", "-a", "-Z", "-p", keychain]))
        present = set(fingerprint(der) for der in ders)
        self.report_presence(desired, targets, present)
        wanted = set()
        for cert in desired:
            wanted.add(cert["sha256"])
            if cert["sha256"] in present:
                continue
            self.result["added"].append(cert["name"])
            if not self.check_mode:
                handle, tmp = tempfile.mkstemp(suffix=".pem", dir=self.module.tmpdir)
                with os.fdopen(handle, "w") as stream:
                    stream.write(cert["pem"])
                self.security_run(["add-trusted-cert", "-d", "-r", "trustRoot", "-k", keychain, tmp])
        if self.params["remove_expired"]:
            for der in ders:
                sha256 = fingerprint(der)
                if sha256 in wanted or not expired(der, self.now):
                    continue
                try:
                    name = slugify(der_summary(der)["subject_cn"])
                except (DERError, ValueError):
                    continue
                if name.startswith(self.params["prefix"]):
                    self.result["removed"].append(name)
                    if not self.check_mode:
                        self.security_run(["delete-certificate", "-Z", fingerprint(der, "sha1").upper(), keychain])
        self.result["changed"] = bool(self.result["added"] or self.result["removed"])


STORES = {"directory": DirectoryStore, "file": FileStore, "java": JavaStore, "keychain": KeychainStore}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            type=dict(type="str", required=True, choices=sorted(STORES)),
            path=dict(type="path", required=True),
            label=dict(type="str"),
            certificates=dict(type="list", elements="dict", required=True),
            targets=dict(type="list", elements="str"),
            suffix=dict(type="str", default=".crt"),
            prefix=dict(type="str", default="amazon-rds-"),
            remove_expired=dict(type="bool", default=False),
            trusted_bundle=dict(type="path"),
            owner=dict(type="str"),
            group=dict(type="str"),
            mode=dict(type="raw"),
            create_parent=dict(type="bool", default=False),
            parent_mode=dict(type="raw", default="0755"),
            keystore_password=dict(type="str", no_log=True),
            keystore_type=dict(type="str"),
            create=dict(type="bool", default=False),
            executable=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    try:
        desired = desired_certificates(module.params["certificates"])
        names = [c["name"] for c in desired]
        targets = module.params["targets"]
        targets = set(names if targets is None else targets)
        unknown = sorted(targets - set(names))
        if unknown:
            raise StoreError("targets not among the certificates: %s" % ", ".join(unknown))
        store = STORES[module.params["type"]](module)
        store.run(desired, targets)
    except StoreError as exc:
        module.fail_json(msg=str(exc), store=module.params["path"])
    except (OSError, IOError) as exc:
        module.fail_json(msg="%s: %s" % (module.params["path"], exc), store=module.params["path"])
    result = store.result
    parts = []
    for key in ("added", "updated", "removed", "missing"):
        if result[key]:
            parts.append("%d %s" % (len(result[key]), key))
    result["msg"] = "%s (%s): %s" % (module.params["path"], module.params["type"], ", ".join(parts) or "up to date")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
