#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: rds_ca_trust_store
short_description: Put a set of CA certificates into the trust stores of a client host, or audit them
version_added: 0.1.0
description:
  - Used by the C(rdsca.rotation.ca_trust) role on each client host with the certificates the
    C(rdsca.rotation.rds_ca_bundle) module validated on the controller. One call handles every certificate, and
    with O(stores) every trust store of the host (system anchors, Java keystores, bundle files, libpq C(root.crt),
    environment files), so a host whose stores are up to date costs one module run, not one per store.
  - "O(stores): every store is validated before the first one is read or written; the stores are then brought up to
    date one after the other, and RV(stores) has one result per store. If one fails, the module fails naming it, and
    RV(stores) still reports the stores handled before it (and those not reached, with C(skipped))."
  - "O(type=directory): one file C(<name><suffix>) per certificate in a directory read by the system's
    update tool (C(/usr/local/share/ca-certificates), C(/etc/pki/ca-trust/source/anchors)...). The
    caller runs the update tool (a handler) when C(changed)."
  - "O(type=file): all certificates concatenated in one PEM file (an application bundle, libpq C(root.crt))."
  - "O(type=java): one trusted certificate entry per certificate, alias C(<name>), in a Java keystore,
    with C(keytool) (one C(keytool -list) per run, and one C(keytool -importkeystore) of every missing certificate).
    A JKS keystore, or a PKCS12 one holding certificates only, that already trusts every certificate under its
    alias (and, with O(remove_expired), has no expired one to remove) is read in Python instead, its integrity
    checked with the password, and no JVM starts: the steady state costs no keytool run."
  - "O(type=keychain): macOS keychain, with C(security find-certificate) and C(security add-trusted-cert -d -r trustRoot).
    C(security) writes the keychain in place and follows symbolic links, so a keychain whose directory another user
    can change (owned by another user, group- or world-writable), or reached through a link another user controls,
    is refused before C(security) runs (run the task as that user instead)."
  - "O(type=libpq): libpq's C(~/.postgresql/root.crt) of O(stores[].user) - a O(type=file) store in that user's home,
    owned by the user and the user's group, C(0644), its C(.postgresql) directory created C(0700)."
  - "O(type=env): a shell environment file (C(/etc/profile.d/rds-ca.sh)) that points O(stores[].variables)
    (C(PGSSLROOTCERT), C(NODE_EXTRA_CA_CERTS)) at the bundle file O(stores[].bundle). It holds no certificate."
  - A certificate counts as present when its SHA-256 fingerprint is in the store, whatever its file
    name or alias. RV(missing) lists the O(targets) absent from the store as it was when the module
    started (for O(type=directory), from O(trusted_bundle), the compiled bundle the system really uses).
  - In check mode nothing changes, and RV(missing) is the audit (the target CAs this store lacks).
  - Needs only the Python standard library on the client host.
  - "Runs as root on many hosts, so it validates everything before the first change (each certificate a CA,
    O(owner), O(group), O(mode), O(suffix), O(prefix), the path) and writes safely: a symbolic link is only
    followed when root owns it and its directory (one that another user controls is refused, with an error
    naming it); the path is then opened component by component without following links; files are written
    to a temporary file in the same directory, given their owner, group and mode through the open file,
    and renamed over the old one, so a failed run leaves the previous store intact and the umask plays no
    part. A file is only given to a non-root O(owner) inside a directory that user owns."
  - "Modes: certificate files and bundle files get O(mode), default C(0644); directories the module
    creates get C(0755) (O(parent_mode) for the parent of a O(type=file)); a keystore keeps its mode, or
    gets O(mode), default C(0644) when the module creates it (C(0640)/C(0600) to restrict readers).
    World-writable modes and setuid/setgid/sticky bits are refused."
  - "O(type=java): keytool never writes the keystore in place; it works on a private copy, which then
    replaces the keystore atomically (so a link planted at the keystore's path is replaced, never followed)."
extends_documentation_fragment:
  - rdsca.rotation.attributes
  - rdsca.rotation.attributes.POSIX_PLATFORM
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author:
  - rdsca.rotation maintainers (@rdsca)
options:
  type:
    description:
      - The kind of trust store (one store per call). Required unless O(stores) is given.
      - C(libpq) and C(env) only in O(stores).
    type: str
    choices: [directory, file, java, keychain]
  path:
    description: The directory, the bundle file, the keystore, or the keychain. Required unless O(stores) is given.
    type: path
  stores:
    description:
      - Several stores in one module run. Each item takes the per-store options of this module (O(type), O(path),
        O(label), O(suffix), O(prefix), O(trusted_bundle), O(create_parent), O(parent_mode), O(keystore_password),
        O(keystore_type), O(create), O(executable), O(owner), O(group), O(mode)) plus those below; what an item
        leaves out comes from this module's options of the same name. O(certificates), O(targets),
        O(allow_empty) and O(remove_expired) are shared by all stores.
      - Mutually exclusive with O(type) and O(path).
    type: list
    elements: dict
    suboptions:
      type:
        description: The kind of trust store.
        type: str
        required: true
        choices: [directory, env, file, java, keychain, libpq, system]
      platforms:
        description:
          - C(system), the system trust store of each C(os_family) (C(Debian), C(RedHat), C(Alpine), C(Suse),
            C(Darwin)...), each an item of O(stores) of another type (a C(directory) of anchors, a C(keychain)).
          - The module reads the host's distribution facts (Ansible's own distribution collector, the facts of
            C(ansible.builtin.setup) with C(gather_subset=distribution)), uses the store of the host's C(os_family)
            and returns those facts as RV(ansible_facts), so that a play needs no fact gathering to choose the
            store. An C(os_family) without a store fails before anything is read or written.
        type: dict
      path:
        description: The store's path (not for C(libpq), which is C(~user/.postgresql/root.crt); not for C(system)).
        type: path
      label:
        description: A name for the store in reports.
        type: str
      user:
        description: C(libpq), the user whose C(~/.postgresql/root.crt) this is.
        type: str
      bundle:
        description: C(env), the absolute path of the bundle file the variables point at.
        type: path
      variables:
        description: C(env), the variables to set.
        type: list
        elements: str
        default: [PGSSLROOTCERT, NODE_EXTRA_CA_CERTS]
      export:
        description: C(env), write C(export NAME=...) rather than C(NAME=...).
        type: bool
        default: true
      suffix:
        description: See O(suffix).
        type: str
      prefix:
        description: See O(prefix).
        type: str
      trusted_bundle:
        description: See O(trusted_bundle).
        type: path
      create_parent:
        description: See O(create_parent).
        type: bool
      parent_mode:
        description: See O(parent_mode).
        type: raw
      keystore_password:
        description: See O(keystore_password).
        type: str
      keystore_type:
        description: See O(keystore_type).
        type: str
      create:
        description: See O(create).
        type: bool
      executable:
        description: See O(executable).
        type: str
      owner:
        description: See O(owner).
        type: str
      group:
        description: See O(group).
        type: str
      mode:
        description: See O(mode).
        type: raw
  label:
    description: A name for the store in reports, returned as RV(label). Defaults to O(path).
    type: str
  certificates:
    description:
      - The certificates that must be in the store, each a dict with C(name) (the stable name, used for
        file names and aliases) and C(pem) (one CA certificate, with basicConstraints CA:TRUE). Other keys are ignored.
      - An empty list is refused unless O(allow_empty) (for O(type=file) it would empty the bundle).
    type: list
    elements: dict
    required: true
  allow_empty:
    description:
      - Accept an empty O(certificates). With O(type=file) that writes an empty bundle, removing every
        certificate the file held; the other types then change nothing (apart from O(remove_expired)).
    type: bool
    default: false
  targets:
    description:
      - Names of the certificates whose absence RV(missing) reports. Defaults to all of O(certificates).
    type: list
    elements: str
  suffix:
    description: File name suffix, O(type=directory) (letters, digits, C(.), C(_) and C(-) only).
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
  create_parent:
    description: O(type=file), create the parent directory when missing (with O(owner), O(group), O(parent_mode)).
    type: bool
    default: false
  parent_mode:
    description: Mode of a parent directory O(create_parent) creates (octal, not world-writable).
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
  - O(mode) must be octal (C("0644")); symbolic modes are refused. O(owner) and O(group) are names or numbers
    that must exist on the host. The SELinux options and O(attributes) are applied with Ansible's standard file
    handling after the write.
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

# What the rdsca.rotation.ca_trust role does: every store of the host in one module run
# (add "- {type: libpq, user: app}" for libpq's ~app/.postgresql/root.crt).
- name: Every trust store of a host in one module run
  rdsca.rotation.rds_ca_trust_store:
    certificates: "{{ rds_bundle.certificates }}"
    stores:
      - type: directory
        label: system (debian)
        path: /usr/local/share/ca-certificates
        trusted_bundle: /etc/ssl/certs/ca-certificates.crt
      - type: file
        path: /etc/ssl/certs/rds-global-bundle.pem
        create_parent: true
      - type: env
        path: /etc/profile.d/rds-ca.sh
        bundle: /etc/ssl/certs/rds-global-bundle.pem
        create_parent: true
  register: trust
"""

RETURN = r"""
ansible_facts:
  description: The host's distribution facts (C(os_family), C(distribution)...), read for a store of type C(system).
  returned: when O(stores) holds a store of type C(system)
  type: dict
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
stores:
  description:
    - With O(stores), one result per store, in order, each with C(type), C(changed) and the keys above
      (C(label), C(store), C(added), C(updated), C(removed), C(present), C(missing), C(refresh)), or C(skipped)
      for a store not reached because an earlier one failed. The top-level keys above then describe the stores
      together (names added, updated, removed, missing in any store).
  returned: when O(stores) is given
  type: list
  elements: dict
"""

import abc
import binascii
import datetime
import os
import pwd
import re
import shutil
import stat
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import MAX_BUNDLE_BYTES
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import DERError
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import BundleError
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import der_summary
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import fingerprint
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import fingerprints_in
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import slugify
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import split_pem
from ansible_collections.rdsca.rotation.plugins.module_utils import keystore as keystore_lib
from ansible_collections.rdsca.rotation.plugins.module_utils import safe_files
from ansible_collections.rdsca.rotation.plugins.module_utils.safe_files import UnsafePathError

UTC = datetime.timezone.utc
KEYSTORE_PASSWORD_ENV = "RDSCA_KEYSTORE_PASSWORD"
IMPORT_PASSWORD_ENV = "RDSCA_IMPORT_KEYSTORE_PASSWORD"
_ALIAS_LINE = re.compile(r"^Alias name: (.*)$", re.M)
_ENTRY_TYPE = re.compile(r"^Entry type: (.*)$", re.M)
_SAFE_NAME_PART = re.compile(r"^[A-Za-z0-9._-]*$")
FILE_MODE = 0o644
DIRECTORY_MODE = 0o755
# Java keystores are small; anything bigger is not one.
MAX_KEYSTORE_BYTES = 64 * 1024 * 1024


class StoreError(Exception):
    pass


def desired_certificates(certificates):
    """``[{"name", "pem", "der", "sha256"}...]`` from the module's ``certificates`` (each exactly one CA certificate)."""
    result = []
    seen = set()
    for item in certificates:
        name = item.get("name")
        if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", name) or ".." in name:
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
        try:
            is_ca = der_summary(der)["is_ca"]
        except (DERError, ValueError) as exc:
            raise StoreError("certificate %s is not an X.509 certificate: %s" % (name, exc))
        if is_ca is None:
            raise StoreError("certificate %s is not a CA certificate (no basicConstraints extension): refused as a trust anchor" % name)
        if not is_ca:
            raise StoreError("certificate %s is not a CA certificate (basicConstraints CA:FALSE, a leaf): refused as a trust anchor"
                             % name)
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


def validate(module, params=None):
    """Every option checked and converted before anything is read or written; raises StoreError."""
    params = module.params if params is None else params
    settings = {}
    problems = []
    for key, convert in (("mode", safe_files.parse_mode), ("parent_mode", safe_files.parse_mode),
                         ("owner", safe_files.lookup_uid), ("group", safe_files.lookup_gid)):
        try:
            settings[key] = convert(params[key]) if key in ("owner", "group") else convert(params[key], key)
        except ValueError as exc:
            problems.append(str(exc))
    for key in ("suffix", "prefix"):
        value = params[key] or ""
        if not _SAFE_NAME_PART.match(value) or ".." in value or len(value) > 64:
            problems.append("%s %r may only hold letters, digits, '.', '_' and '-' (no path): it is part of file names"
                            % (key, value))
    if params["type"] == "java" and params["keystore_password"] is None:
        problems.append("keystore_password is required for a Java keystore")
    if not params["certificates"] and not params["allow_empty"]:
        problems.append("certificates is empty: refusing to %s (set allow_empty=true if that is the intent)" % (
            "empty the bundle %s" % params["path"] if params["type"] == "file" else "run with nothing to install"))
    if problems:
        raise StoreError("Invalid options, nothing was changed: " + "; ".join(problems))
    if params["type"] == "env":
        settings["env_content"] = env_content(params)
    if params["type"] != "keychain":
        settings["path"] = safe_files.resolve(params["path"])
    else:
        settings["path"] = params["path"]
    settings["uid"] = settings.pop("owner")
    settings["gid"] = settings.pop("group")
    return settings


class Store(abc.ABC):
    """What every store does: compare, plan, apply. Subclasses read and write."""

    def __init__(self, module, settings, params=None):
        self.module = module
        self.params = module.params if params is None else params
        self.settings = settings
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

    def file_mode(self, default=FILE_MODE):
        return self.settings["mode"] if self.settings["mode"] is not None else default

    def extra_attributes(self, path):
        """SELinux context and file attributes, through Ansible's standard file handling (owner, group and mode
        are already set through the file descriptor)."""
        params = self.params
        if self.check_mode or not any(params.get(k) for k in ("seuser", "serole", "setype", "selevel", "attributes")):
            return False
        file_args = self.module.load_file_common_arguments(params, path=path)
        file_args.update(mode=None, owner=None, group=None)
        return self.module.set_fs_attributes_if_different(file_args, False)

    def open_parent(self, directory, create, what, leaf_mode=DIRECTORY_MODE, leaf_uid=-1, leaf_gid=-1):
        """A descriptor of ``directory`` (None in check mode when it would be created), and whether it was created."""
        uid = self.settings["uid"]
        if uid != -1 and uid not in safe_files.trusted_uids():
            # A file given to a user must be inside that user's own tree: the deepest existing directory is theirs.
            existing = directory
            while not os.path.lexists(existing):
                existing = os.path.dirname(existing)
            fd = os.open(existing, os.O_RDONLY | os.O_DIRECTORY)
            try:
                safe_files.check_owner_inside_own_tree(fd, existing, uid, what)
            finally:
                os.close(fd)
        try:
            fd, created = safe_files.open_directory(directory, create=create, dir_mode=DIRECTORY_MODE, leaf_mode=leaf_mode,
                                                    leaf_uid=leaf_uid, leaf_gid=leaf_gid, check_mode=self.check_mode)
        except FileNotFoundError:
            return None, None
        if fd is not None and uid != -1 and uid not in safe_files.trusted_uids():
            safe_files.check_owner_inside_own_tree(fd, directory, uid, what)
        return fd, created


class DirectoryStore(Store):
    """One file per certificate in a directory (Debian, RHEL, Alpine, SUSE anchors; a macOS staging dir)."""

    def run(self, desired, targets):
        directory = self.settings["path"]
        suffix = self.params["suffix"]
        prefix = self.params["prefix"]
        uid, gid = self.settings["uid"], self.settings["gid"]
        if os.path.lexists(directory) and not os.path.isdir(directory):
            raise StoreError("%s is not a directory" % directory)
        fd, created = self.open_parent(directory, True, "the certificate files")
        try:
            self._run(fd, bool(created), desired, targets, suffix, prefix, uid, gid)
        finally:
            if fd is not None:
                os.close(fd)

    def _run(self, fd, created, desired, targets, suffix, prefix, uid, gid):
        directory = self.settings["path"]
        mode = self.file_mode()
        if created:
            self.result["changed"] = True
        files = {}
        if fd is not None:
            for entry in sorted(os.listdir(fd)):
                if entry.endswith(suffix) and not entry.startswith("."):
                    content = safe_files.read_file(fd, entry, MAX_BUNDLE_BYTES)
                    if content is not None:
                        files[entry] = content
        in_directory = set()
        for content in files.values():
            in_directory.update(fingerprints_in(content))

        trusted = self.params["trusted_bundle"]
        if trusted:
            # No compiled bundle at all means nothing is trusted yet (the update tool never ran).
            effective = set(fingerprints_in(read_trusted(trusted) or b""))
        else:
            effective = in_directory
        self.report_presence(desired, targets, effective)

        wanted = set()
        for cert in desired:
            entry = cert["name"] + suffix
            wanted.add(entry)
            current = files.get(entry)
            if current is not None and current.replace(b"\r\n", b"\n") == cert["pem"].encode("ascii"):
                if fd is not None and not self.check_mode and safe_files.set_attributes(fd, entry, mode, uid, gid):
                    self.result["changed"] = True
                elif fd is not None and self.check_mode and attributes_differ(fd, entry, mode, uid, gid):
                    self.result["changed"] = True
                continue
            (self.result["updated"] if current is not None else self.result["added"]).append(cert["name"])
            if not self.check_mode:
                safe_files.write_file(fd, entry, cert["pem"].encode("ascii"), mode, uid, gid)
                self.extra_attributes(os.path.join(directory, entry))

        if self.params["remove_expired"]:
            for entry, content in sorted(files.items()):
                if entry in wanted or not entry.startswith(prefix):
                    continue
                ders = pem_ders(content)
                if ders and all(expired(der, self.now) for der in ders):
                    self.result["removed"].append(entry[:-len(suffix)] if suffix else entry)
                    if not self.check_mode:
                        os.unlink(entry, dir_fd=fd)

        if trusted and not (self.result["added"] or self.result["updated"]):
            # Everything is in the directory, but the compiled bundle lacks some of it: the update
            # tool did not run after an earlier change (a failed play). Ask for it again.
            lacking = [c["name"] for c in desired if c["sha256"] in in_directory and c["sha256"] not in effective]
            if lacking:
                self.result["refresh"] = True
        if self.result["added"] or self.result["updated"] or self.result["removed"] or self.result["refresh"]:
            self.result["changed"] = True


def read_trusted(path):
    """The compiled system bundle (read only, without following a link another user controls), or None."""
    try:
        resolved = safe_files.resolve(path)
        fd, _created = safe_files.open_directory(os.path.dirname(resolved))
    except FileNotFoundError:
        return None
    try:
        return safe_files.read_file(fd, os.path.basename(resolved), MAX_BUNDLE_BYTES * 4)
    finally:
        os.close(fd)


def attributes_differ(fd, name, mode, uid, gid):
    st = safe_files.entry_stat(fd, name)
    if st is None:
        return True
    return ((mode is not None and stat.S_IMODE(st.st_mode) != mode) or (uid != -1 and st.st_uid != uid)
            or (gid != -1 and st.st_gid != gid))


class FileStore(Store):
    """All certificates concatenated in one file."""

    def run(self, desired, targets):
        path = self.settings["path"]
        parent, name = os.path.split(path)
        uid, gid = self.settings["uid"], self.settings["gid"]
        if not name:
            raise StoreError("%s is a directory" % path)
        fd, created = self.open_parent(parent, self.params["create_parent"], "the bundle file %s" % path,
                                       leaf_mode=self.settings["parent_mode"] or DIRECTORY_MODE, leaf_uid=uid, leaf_gid=gid)
        if created is None:
            raise StoreError("the directory %s does not exist (create_parent creates it)" % parent)
        try:
            self._run(fd, bool(created), path, name, desired, targets, uid, gid)
        finally:
            if fd is not None:
                os.close(fd)

    def read_current(self, fd, path, name):
        """The file's content (None when absent); a directory there is refused."""
        if fd is None:
            return None
        st = safe_files.entry_stat(fd, name)
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise StoreError("%s is a directory" % path)
        return safe_files.read_file(fd, name, MAX_BUNDLE_BYTES)

    def keep_if_same(self, same, fd, name, mode, uid, gid):
        """When the content is already right: only the attributes may change. Returns ``same``."""
        if same:
            if self.check_mode:
                self.result["changed"] = self.result["changed"] or attributes_differ(fd, name, mode, uid, gid)
            elif safe_files.set_attributes(fd, name, mode, uid, gid):
                self.result["changed"] = True
        return same

    def _run(self, fd, created, path, name, desired, targets, uid, gid):
        content = "".join(cert["pem"] for cert in desired)
        mode = self.file_mode()
        current = self.read_current(fd, path, name)
        self.report_presence(desired, targets, set(fingerprints_in(current or b"")))
        if created:
            self.result["changed"] = True
        if self.keep_if_same(current is not None and current.replace(b"\r\n", b"\n") == content.encode("ascii"),
                             fd, name, mode, uid, gid):
            return
        before = pem_ders(current or b"")
        before_fingerprints = set(fingerprint(der) for der in before)
        after_fingerprints = set(c["sha256"] for c in desired)
        self.result["added"] = [c["name"] for c in desired if c["sha256"] not in before_fingerprints]
        for der in before:
            if fingerprint(der) not in after_fingerprints:
                try:
                    cert_name = slugify(der_summary(der)["subject_cn"]) or fingerprint(der)[:16]
                except (DERError, ValueError):
                    cert_name = fingerprint(der)[:16]
                self.result["removed"].append(cert_name)
        self.result["changed"] = True
        if not self.check_mode:
            safe_files.write_file(fd, name, content.encode("ascii"), mode, uid, gid)
            self.extra_attributes(path)


class JavaStore(Store):
    """Trusted certificate entries of a Java keystore, through keytool, on a private copy that then replaces it."""

    def __init__(self, module, settings, params=None):
        super(JavaStore, self).__init__(module, settings, params)
        executable = self.params["executable"] or "keytool"
        if os.path.sep in executable:
            if not os.access(executable, os.X_OK):
                raise StoreError("keytool %s is not an executable file" % executable)
            self.keytool = executable
        else:
            self.keytool = module.get_bin_path(executable, opt_dirs=["/usr/lib/jvm/default-java/bin"])
            if not self.keytool:
                raise StoreError("%s not found on this host: install a Java runtime, or set the keytool path" % executable)
        self.work = None

    def keytool_run(self, args, environ=None):
        # English output to parse; a JVM that starts faster (no optimising JIT, one GC thread) for short runs.
        command = [self.keytool, "-J-Duser.language=en", "-J-Duser.country=US", "-J-XX:TieredStopAtLevel=1",
                   "-J-XX:+UseSerialGC"] + args + [
            "-keystore", self.work, "-storepass:env", KEYSTORE_PASSWORD_ENV]
        if self.params["keystore_type"]:
            command += ["-storetype", self.params["keystore_type"]]
        environ_update = {KEYSTORE_PASSWORD_ENV: self.params["keystore_password"], "LC_ALL": "C", "LANG": "C"}
        environ_update.update(environ or {})
        rc, out, err = self.module.run_command(command, environ_update=environ_update)
        if rc != 0:
            text = " ".join((out + " " + err).split()).replace(self.work, self.params["path"])
            if "password was incorrect" in text or "keystore password was incorrect" in text:
                raise StoreError("the password of the keystore %s is incorrect" % self.params["path"])
            raise StoreError("keytool %s on %s failed (rc=%d): %s" % (args[0], self.params["path"], rc, text[-600:]))
        return out

    def import_all(self, certificates):
        """Every ``(alias, certificate)`` as a trusted entry, with one JVM start: keytool imports a JKS keystore
        written here (module_utils.keystore.jks_bytes) instead of one ``keytool -importcert`` per certificate."""
        source = os.path.join(os.path.dirname(self.work), "import.jks")
        password = binascii.hexlify(os.urandom(16)).decode("ascii")
        self.module.no_log_values.add(password)
        entries = [(alias, pem_ders(cert["pem"])[0]) for alias, cert in certificates]
        descriptor = os.open(source, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(keystore_lib.jks_bytes(entries, password, int(time.time() * 1000)))
        self.keytool_run(["-importkeystore", "-noprompt", "-srckeystore", source, "-srcstoretype", "JKS",
                          "-srcstorepass:env", IMPORT_PASSWORD_ENV], environ={IMPORT_PASSWORD_ENV: password})

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
        path = self.settings["path"]
        parent, name = os.path.split(path)
        uid, gid = self.settings["uid"], self.settings["gid"]
        fd, created = self.open_parent(parent, self.params["create"], "the keystore %s" % path)
        if created is None and not self.params["create"] and not self.check_mode:
            raise StoreError("the keystore %s does not exist (create: true creates it)" % path)
        private = tempfile.mkdtemp(prefix="rdsca-keystore-", dir=self.module.tmpdir)
        os.chmod(private, 0o700)
        self.work = os.path.join(private, "keystore")
        try:
            self._run(fd, bool(created), path, name, desired, targets, uid, gid)
        finally:
            shutil.rmtree(private, ignore_errors=True)
            if fd is not None:
                os.close(fd)

    def unchanged_without_keytool(self, current, desired, targets, fd, name, st, uid, gid):
        """The steady state without a JVM: True (and the result set) when the keystore, read in Python
        (module_utils.keystore), already trusts every desired certificate under its alias and has nothing expired
        to remove; False when keytool must read or change it (a format the reader does not know, a wrong password,
        anything missing)."""
        trusted = keystore_lib.trusted_entries(current, self.params["keystore_password"], self.params["keystore_type"])
        if trusted is None:
            return False
        trusted = dict((alias.lower(), der) for alias, der in trusted.items())
        wanted = set(cert["name"].lower() for cert in desired)
        if any(alias not in trusted or fingerprint(trusted[alias]) != cert["sha256"]
               for alias, cert in ((cert["name"].lower(), cert) for cert in desired)):
            return False
        if self.params["remove_expired"] and any(
                alias not in wanted and alias.startswith(self.params["prefix"].lower()) and expired(der, self.now)
                for alias, der in trusted.items()):
            return False
        self.report_presence(desired, targets, set(fingerprint(der) for der in trusted.values()))
        mode = self.settings["mode"]
        if mode is None:
            mode = stat.S_IMODE(st.st_mode) & ~0o7002
        if self.check_mode:
            changed = attributes_differ(fd, name, mode, uid, gid)
        else:
            changed = safe_files.set_attributes(fd, name, mode, uid, gid)
        self.result["changed"] = bool(changed or self.result["changed"])
        return True

    def _run(self, fd, created, path, name, desired, targets, uid, gid):
        current = None
        st = None
        if fd is not None:
            st = safe_files.entry_stat(fd, name)
            if st is not None and not stat.S_ISREG(st.st_mode):
                raise StoreError("the keystore %s is not a regular file (a link or a directory): refused" % path)
            current = safe_files.read_file(fd, name, MAX_KEYSTORE_BYTES)
        exists = current is not None
        if not exists and not self.params["create"] and not self.check_mode:
            raise StoreError("the keystore %s does not exist (create: true creates it)" % path)
        if exists and not created and self.unchanged_without_keytool(current, desired, targets, fd, name, st, uid, gid):
            return
        if exists:
            descriptor = os.open(self.work, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as stream:
                stream.write(current)
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
        if created:
            self.result["changed"] = True

        wanted = set()
        to_import = []
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
            to_import.append((alias, cert))
        if to_import and not self.check_mode:
            self.import_all(to_import)

        if self.params["remove_expired"]:
            for alias, der in sorted(trusted.items()):
                if alias not in wanted and alias.startswith(self.params["prefix"].lower()) and expired(der, self.now):
                    self.result["removed"].append(alias)
                    if not self.check_mode:
                        self.keytool_run(["-delete", "-alias", alias])

        # The keystore keeps its mode unless mode is given; a new one gets 0644; never world-writable.
        mode = self.settings["mode"]
        if mode is None:
            mode = stat.S_IMODE(st.st_mode) & ~0o7002 if exists else FILE_MODE
        content_changed = bool(self.result["added"] or self.result["updated"] or self.result["removed"])
        if self.check_mode:
            changed = content_changed or (exists and attributes_differ(fd, name, mode, uid, gid))
        elif content_changed:
            with open(self.work, "rb") as stream:
                data = stream.read()
            # A new keystore's owner is root unless given; an existing one keeps its owner and group.
            keep_uid = uid if uid != -1 else (st.st_uid if exists else -1)
            keep_gid = gid if gid != -1 else (st.st_gid if exists else -1)
            safe_files.write_file(fd, name, data, mode, keep_uid, keep_gid)
            self.extra_attributes(path)
            changed = True
        else:
            changed = exists and safe_files.set_attributes(fd, name, mode, uid, gid)
        self.result["changed"] = bool(changed or self.result["changed"])


class KeychainStore(Store):
    """A macOS keychain, through security(1). Certificates are trusted for every use (trustRoot, admin domain)."""

    def __init__(self, module, settings, params=None):
        super(KeychainStore, self).__init__(module, settings, params)
        executable = self.params["executable"] or "security"
        self.security = executable if os.path.sep in executable else module.get_bin_path(executable)
        if not self.security:
            raise StoreError("%s not found on this host (the keychain type is for macOS)" % executable)

    def security_run(self, args):
        rc, out, err = self.module.run_command([self.security] + args)
        if rc != 0:
            raise StoreError("security %s failed (rc=%d): %s" % (args[0], rc, " ".join((out + " " + err).split())[-600:]))
        return out

    def check_keychain(self, keychain):
        """Refuse a keychain another user can swap for a link: security(1) writes it in place, following links."""
        resolved = safe_files.resolve(keychain)
        directory = os.path.dirname(resolved) or "/"
        try:
            fd = safe_files.open_directory(directory)[0]
        except FileNotFoundError:
            raise StoreError("the directory of the keychain %s does not exist" % keychain)
        try:
            safe_files.check_directory_not_controlled(fd, directory, "security (keychain %s)" % keychain)
        finally:
            os.close(fd)

    def run(self, desired, targets):
        keychain = self.params["path"]
        self.check_keychain(keychain)
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


class EnvStore(FileStore):
    """A shell environment file pointing variables at the bundle file; it holds no certificate."""

    def _run(self, fd, created, path, name, desired, targets, uid, gid):
        content = self.settings["env_content"].encode("utf-8")
        mode = self.file_mode()
        current = self.read_current(fd, path, name)
        if created:
            self.result["changed"] = True
        if self.keep_if_same(current == content, fd, name, mode, uid, gid):
            return
        self.result["updated" if current is not None else "added"].append(os.path.basename(path))
        self.result["changed"] = True
        if not self.check_mode:
            safe_files.write_file(fd, name, content, mode, uid, gid)
            self.extra_attributes(path)


STORES = {"directory": DirectoryStore, "file": FileStore, "java": JavaStore, "keychain": KeychainStore,
          "env": EnvStore}
# The options a store in `stores` may set; what it leaves out comes from the module's own options.
PER_STORE = ("type", "path", "label", "suffix", "prefix", "trusted_bundle", "create_parent", "parent_mode",
             "keystore_password", "keystore_type", "create", "executable", "owner", "group", "mode")
ENV_HEADER = "# Managed by Ansible (rdsca.rotation.ca_trust): the Amazon RDS CA bundle for clients.\n"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UNSAFE_IN_QUOTES = re.compile(r"['\\\n\r\x00]")


def env_content(params):
    """The environment file's text; the bundle path and the variable names are checked (they go into a shell file)."""
    bundle = params.get("bundle")
    if not bundle or not os.path.isabs(bundle) or _UNSAFE_IN_QUOTES.search(bundle):
        raise StoreError("env store %s: bundle must be an absolute path without quotes or line breaks, got %r"
                         % (params.get("path"), bundle))
    variables = params.get("variables") or []
    bad = [v for v in variables if not isinstance(v, str) or not _ENV_NAME.match(v)]
    if not variables or bad:
        raise StoreError("env store %s: variables must be shell variable names, got %r" % (params.get("path"), bad or variables))
    prefix = "export " if params.get("export", True) else ""
    return ENV_HEADER + "".join("%s%s='%s'\n" % (prefix, variable, bundle) for variable in variables)


def libpq_store(item, given):
    """A `libpq` store as the `file` store it is: ~user/.postgresql/root.crt, the user's, 0644 in a 0700 directory
    (``given``: what the caller set on this store, over those defaults)."""
    user = item.get("user")
    if not user:
        raise StoreError("a libpq store needs user")
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise StoreError("libpq store: the user %s does not exist on this host" % user)
    if not entry.pw_dir or not os.path.isabs(entry.pw_dir):
        raise StoreError("libpq store: the user %s has no home directory" % user)
    out = dict(item, type="file", path=os.path.join(entry.pw_dir, ".postgresql", "root.crt"), owner=user,
               group=str(entry.pw_gid), create_parent=True, parent_mode=given.get("parent_mode") or "0700")
    out["mode"] = given.get("mode") or "0644"
    out["label"] = given.get("label") or "libpq root.crt of %s" % user
    return out


def store_params(module, item):
    """One item of `stores` as a full set of options: the module's own, overridden by the item's."""
    params = dict(module.params)
    params.pop("stores", None)
    for key in PER_STORE:
        if item.get(key) is not None:
            params[key] = item[key]
    for key in ("user", "bundle", "variables", "export"):
        params[key] = item.get(key)
    if params["type"] == "libpq":
        params = libpq_store(params, item)
    if not params.get("path"):
        raise StoreError("a %s store needs path" % params["type"])
    return params


def combined_result(results):
    """The stores' results, and their names added/updated/removed/missing together, at the top level."""
    out = {"changed": any(r.get("changed") for r in results), "stores": results, "store": None, "label": None,
           "refresh": any(r.get("refresh") for r in results)}
    for key in ("added", "updated", "removed", "present", "missing"):
        names = []
        for result in results:
            names += [n for n in result.get(key, []) if n not in names]
        out[key] = names
    return out


def run_stores(module, desired, targets):
    """Every store validated first, then each brought up to date in order; a failure names its store."""
    prepared = []
    for number, item in enumerate(module.params["stores"], 1):
        try:
            params = store_params(module, item)
            prepared.append((params, validate(module, params)))
        except (StoreError, UnsafePathError, ValueError) as exc:
            raise StoreError("stores[%d] (%s): %s; nothing was changed" % (number, item.get("label") or item.get("path")
                                                                           or item.get("user") or item.get("type"), exc))
    results = []
    for number, (params, settings) in enumerate(prepared):
        try:
            store = STORES[params["type"]](module, settings, params)
            store.run(desired, targets)
        except (StoreError, UnsafePathError, ValueError, OSError, IOError) as exc:
            results.append({"type": params["type"], "store": params["path"], "label": params["label"] or params["path"],
                            "changed": False, "failed": True, "msg": str(exc)})
            results += [{"type": p["type"], "store": p["path"], "label": p["label"] or p["path"], "skipped": True}
                        for p, _s in prepared[number + 1:]]
            module.fail_json(msg="%s: %s (the stores before it are done, those after it were not reached)" % (
                params["label"] or params["path"], exc), **combined_result(results))
        results.append(dict(store.result, type=params["type"]))
    return combined_result(results)


# The options of one item of `stores` (also how a system store chosen by os_family is checked).
STORE_OPTIONS = dict(
    type=dict(type="str", required=True, choices=["directory", "env", "file", "java", "keychain", "libpq", "system"]),
    platforms=dict(type="dict"),
    path=dict(type="path"),
    label=dict(type="str"),
    user=dict(type="str"),
    bundle=dict(type="path"),
    variables=dict(type="list", elements="str", default=["PGSSLROOTCERT", "NODE_EXTRA_CA_CERTS"]),
    export=dict(type="bool", default=True),
    suffix=dict(type="str"),
    prefix=dict(type="str"),
    trusted_bundle=dict(type="path"),
    create_parent=dict(type="bool"),
    parent_mode=dict(type="raw"),
    keystore_password=dict(type="str", no_log=True),
    keystore_type=dict(type="str"),
    create=dict(type="bool"),
    executable=dict(type="str"),
    owner=dict(type="str"),
    group=dict(type="str"),
    mode=dict(type="raw"),
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            type=dict(type="str", choices=["directory", "file", "java", "keychain"]),
            path=dict(type="path"),
            stores=dict(type="list", elements="dict", options=STORE_OPTIONS),
            label=dict(type="str"),
            certificates=dict(type="list", elements="dict", required=True),
            allow_empty=dict(type="bool", default=False),
            targets=dict(type="list", elements="str"),
            suffix=dict(type="str", default=".crt"),
            prefix=dict(type="str", default="amazon-rds-"),
            remove_expired=dict(type="bool", default=False),
            trusted_bundle=dict(type="path"),
            create_parent=dict(type="bool", default=False),
            parent_mode=dict(type="raw", default="0755"),
            keystore_password=dict(type="str", no_log=True),
            keystore_type=dict(type="str"),
            create=dict(type="bool", default=False),
            executable=dict(type="str"),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
        mutually_exclusive=[("stores", "type"), ("stores", "path")],
        required_by={"type": "path", "path": "type"},
        required_one_of=[("stores", "type")],
    )
    if module.params["stores"] is not None:
        main_stores(module)
    try:
        # Everything is validated before the first read or write: a bad option changes nothing.
        settings = validate(module)
        desired = desired_certificates(module.params["certificates"])
        names = [c["name"] for c in desired]
        targets = module.params["targets"]
        targets = set(names if targets is None else targets)
        unknown = sorted(targets - set(names))
        if unknown:
            raise StoreError("targets not among the certificates: %s" % ", ".join(unknown))
        store = STORES[module.params["type"]](module, settings)
        store.run(desired, targets)
    except (StoreError, UnsafePathError) as exc:
        module.fail_json(msg=str(exc), store=module.params["path"])
    except ValueError as exc:
        module.fail_json(msg="%s: %s" % (module.params["path"], exc), store=module.params["path"])
    except (OSError, IOError) as exc:
        module.fail_json(msg="%s: %s" % (module.params["path"], exc), store=module.params["path"])
    result = store.result
    parts = []
    for key in ("added", "updated", "removed", "missing"):
        if result[key]:
            parts.append("%d %s" % (len(result[key]), key))
    result["msg"] = "%s (%s): %s" % (module.params["path"], module.params["type"], ", ".join(parts) or "up to date")
    module.exit_json(invocation=invocation(module), **result)


def main_stores(module):
    """O(stores): every store of the host in one run."""
    where = "stores"
    try:
        desired = desired_certificates(module.params["certificates"])
        if not module.params["certificates"] and not module.params["allow_empty"]:
            raise StoreError("certificates is empty: refusing to run with nothing to install (set allow_empty=true "
                             "if that is the intent); nothing was changed")
        targets = check_targets(module.params["targets"], desired)
        facts = system_stores(module)
        result = run_stores(module, desired, targets)
    except (StoreError, UnsafePathError, ValueError, OSError, IOError) as exc:
        module.fail_json(msg=str(exc), store=where)
    if facts is not None:
        result["ansible_facts"] = facts
    keys = ("added", "updated", "removed", "missing")
    parts = ["%s: %s" % (r["label"], ", ".join("%d %s" % (len(r[k]), k) for k in keys if r[k]) or "up to date")
             for r in result["stores"]]
    result["msg"] = "; ".join(parts) or "no stores"
    module.exit_json(invocation=invocation(module), **result)


def invocation(module):
    """The arguments echoed back, each certificate as its name only: the PEMs (most of the arguments) would
    travel back to the controller with every host's result for nothing."""
    certificates = [c.get("name") if isinstance(c, dict) else c for c in module.params["certificates"]]
    return {"module_args": dict(module.params, certificates=certificates)}


def distribution_facts(module):
    """The host's distribution facts, read by Ansible's own collector (the setup module's distribution subset);
    imported here, so that a run without a system store does not load the facts machinery."""
    from ansible.module_utils.facts.system.distribution import DistributionFactCollector  # pylint: disable=import-outside-toplevel
    return DistributionFactCollector().collect(module=module)


def system_stores(module):
    """Each store of type ``system`` in ``stores`` replaced (in place) by the store of the host's os_family, checked
    as any other item; returns the distribution facts read (None when there was no such store)."""
    facts = None
    stores = module.params["stores"]
    for number, item in enumerate(stores, 1):
        if item.get("type") != "system":
            continue
        if facts is None:
            facts = distribution_facts(module)
        family = facts.get("os_family")
        chosen = (item.get("platforms") or {}).get(family)
        if not isinstance(chosen, dict):
            raise StoreError("stores[%d] (%s): no system trust store known for os_family %s (known: %s); nothing was changed"
                             % (number, item.get("label") or "system", family, ", ".join(sorted(item.get("platforms") or {}))))
        checked = ArgumentSpecValidator(STORE_OPTIONS).validate(dict(chosen))
        if checked.error_messages or checked.validated_parameters.get("type") in ("system", None):
            raise StoreError("stores[%d] (%s): the store for os_family %s is not a store: %s; nothing was changed" % (
                number, item.get("label") or "system", family, "; ".join(checked.error_messages) or "type system"))
        stores[number - 1] = checked.validated_parameters
    return facts


def check_targets(targets, desired):
    names = [c["name"] for c in desired]
    targets = set(names if targets is None else targets)
    unknown = sorted(targets - set(names))
    if unknown:
        raise StoreError("targets not among the certificates: %s" % ", ".join(unknown))
    return targets


if __name__ == "__main__":
    main()
