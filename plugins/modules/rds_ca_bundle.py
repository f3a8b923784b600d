#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: rds_ca_bundle
short_description: Fetch, validate and split the Amazon RDS CA certificate bundle
version_added: 0.1.0
description:
  - Gets the Amazon RDS CA bundle from AWS (the global bundle, or one region's bundle) over HTTPS
    with certificate verification, or reads it from a local file for hosts without internet access,
    optionally checking a pinned checksum.
  - Validates it before anything uses it, and fails listing every problem found; every PEM block must
    be an X.509 CA certificate (basicConstraints CA:TRUE) with a strong key (RSA 2048 bits or more, EC 256
    bits or more), no MD5 signature, no SHA-1 signature except on a self-signed root, and no wildcard
    subjectAltName; its subject must be an Amazon RDS CA (O(require_rds_subjects)); a certificate with an
    Amazon RDS name must be one of the AWS certificates pinned by SHA-256 fingerprint in the collection
    (O(allow_unpinned_rds_cas)); at least
    one certificate must remain once expired certificates are dropped (unless O(keep_expired)). For every
    region of O(regions), the O(target_cas) roots must be present and valid.
  - CRLF line endings, a UTF-8 byte order mark, text between blocks and a missing final newline are
    accepted; an empty file, an HTML error page, garbage, a truncated block, invalid base64 or a block
    that is not a certificate (a private key, a CRL) fail with a message that says so.
  - Names every certificate after its common name (C(Amazon RDS us-east-1 Root CA RSA2048 G1) becomes
    C(amazon-rds-us-east-1-root-ca-rsa2048-g1)), a name that stays the same from one bundle version to
    the next. Certificates sharing a common name get the first 8 hex digits of their SHA-256 fingerprint
    appended.
  - Returns each certificate as canonical PEM (LF line endings, one certificate per item), because
    C(update-ca-certificates) wants one certificate per file and C(keytool -importcert) only imports the
    first certificate of a file; with O(dest) it also writes one file per certificate.
  - Meant to run once per play on the controller (C(delegate_to=localhost), C(run_once=true)), as the
    C(rdsca.rotation.ca_trust) role does. It needs the C(cryptography) Python library where it runs.
author:
  - rdsca.rotation maintainers (@rdsca)
options:
  src:
    description:
      - Path of a bundle file on the host the module runs on (the controller), instead of downloading it.
      - Mutually exclusive with O(url) and O(region).
    type: path
  url:
    description:
      - Where to download the bundle from. HTTPS with certificate verification, which cannot be turned off.
      - A plain C(http://) address is only accepted together with O(checksum).
      - Defaults to AWS's global bundle C(https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem),
        or to the regional bundle of O(region).
    type: str
  region:
    description:
      - Download the regional bundle of this region,
        C(https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem), instead of the global one.
      - When O(regions) is empty, this region's target CAs must be in the bundle.
    type: str
  checksum:
    description:
      - Pin the bundle's content, as C(sha256:<hex>) (also C(sha384:) and C(sha512:); a bare 64-digit
        hex value is a SHA-256). A bundle whose digest differs is refused before it is parsed.
    type: str
  ca_cert:
    description:
      - A PEM file of the CA certificates to verify the download server against, instead of the
        controller's default trust store (for a mirror or a TLS-inspecting proxy with a private CA).
      - The same name as the CA file of every module of the collection (and of community.postgresql). The
        deprecated alias O(ca_path) is its former name.
    type: path
    aliases: [ca_path]
  timeout:
    description: Seconds to wait for the download (more than 0).
    type: int
    default: 30
  regions:
    description:
      - The regions whose databases the clients connect to. The bundle must hold the O(target_cas)
        root of each of them, valid; RV(targets) lists them.
    type: list
    elements: str
    default: []
  target_cas:
    description:
      - The CA identifiers the databases use or are rotated to; their root for every region of
        O(regions) must be in the bundle.
      - A list, as clients may have to trust several CAs at once (databases on different CAs, or a rollback to
        a previous CA); hence a name of its own next to the O(rdsca.rotation.rds_ca_facts#module:target_ca)
        of the other modules, which is the one CA databases are rotated to (a string). One CA identifier given
        as a string is a list of one.
      - The deprecated alias O(target_ca) is its former name (a list, or one string, as before).
    type: list
    elements: str
    choices: [rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, rds-ca-ecc384-g1]
    default: [rds-ca-rsa2048-g1]
    aliases: [target_ca]
  keep_expired:
    description:
      - Keep expired certificates in RV(certificates) (they are still listed in RV(expired)).
      - By default they are dropped, with a warning.
    type: bool
    default: false
  require_rds_subjects:
    description:
      - Require every certificate's subject to be an Amazon RDS CA's (O=Amazon Web Services, Inc.,
        OU=Amazon RDS, CN starting with C(Amazon RDS )).
      - Set to V(false) to accept a private CA (a bundle that deliberately adds other CAs); the private
        CA must still be a strong CA certificate, and must not carry an Amazon RDS name unless
        O(allow_unpinned_rds_cas).
    type: bool
    default: true
  allow_unpinned_rds_cas:
    description:
      - Keys are trusted, not names. A certificate that presents itself as an Amazon RDS CA (CN starting with
        C(Amazon RDS), OU=Amazon RDS, or an RDS CA name) is only accepted when its SHA-256 fingerprint is one of
        the AWS certificates pinned in the collection's catalog (C(plugins/module_utils/rds_ca_catalog.py),
        generated from AWS's published bundles). Anything else with an RDS name is an impersonation, or a CA
        newer than the catalog, and is refused.
      - Set to V(true) to accept such certificates anyway (a newly published RDS root before the catalog is
        refreshed, or a test PKI such as the collection's simulator); each one is named in a warning and listed
        in RV(unpinned). Weak keys, weak signatures, non-CA certificates and wildcard names stay refused.
      - Also read from the environment variable E(RDSCA_ALLOW_UNPINNED_RDS_CAS) of the controller.
    type: bool
    default: false
  dest:
    description:
      - A directory where to write one C(<name>.pem) file per certificate of RV(certificates), and
        C(bundle.pem) with all of them.
      - Files named C(amazon-rds-*.pem) there that are not in RV(certificates) are removed, so the
        directory mirrors the current bundle.
      - Created when missing. Without O(dest) nothing is written and C(changed) is V(false).
      - The files get O(owner), O(group) and O(mode) (default C(0644)); O(mode) must be octal, and neither
        world-writable nor setuid/setgid/sticky. A file is only given to a non-root O(owner) inside a directory
        that user owns.
    type: path
notes:
  - Supports check mode (nothing is written to O(dest)).
  - "O(owner), O(group), O(mode) and the SELinux and file O(attributes) apply to the files written to O(dest)."
  - Proxies are taken from the usual C(https_proxy)/C(no_proxy) environment variables.
seealso:
  - name: Using SSL/TLS to encrypt a connection to a DB instance or cluster
    description: AWS's list of the bundle download addresses.
    link: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html
  - module: ansible.builtin.get_url
extends_documentation_fragment:
  - rdsca.rotation.attributes
  - rdsca.rotation.attributes.POSIX_PLATFORM
  - ansible.builtin.files
  - rdsca.rotation.pinned_rds_cas
attributes:
  check_mode:
    support: full
    details:
      - Nothing is written to O(dest); RV(files) says what would be.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Download and validate the global bundle once, on the controller
  rdsca.rotation.rds_ca_bundle:
    regions: [us-east-1, eu-west-1]
    target_cas: [rds-ca-rsa2048-g1, rds-ca-rsa4096-g1, rds-ca-ecc384-g1]
  delegate_to: localhost
  run_once: true
  register: rds_bundle

- name: Use a copy reviewed and committed next to the playbook, pinned
  rdsca.rotation.rds_ca_bundle:
    src: "{{ playbook_dir }}/files/global-bundle.pem"
    checksum: "sha256:0d5c0b3a8f7e2fd0d0b2c5e5d5f9b7e6c1a0f0a1b2c3d4e5f60718293a4b5c6d"
    regions: [us-east-1]
  delegate_to: localhost
  run_once: true
  register: rds_bundle

- name: Write one file per certificate for another tool
  rdsca.rotation.rds_ca_bundle:
    region: eu-central-1
    dest: /srv/rds-ca/eu-central-1
  delegate_to: localhost
  run_once: true

- name: Show what the bundle holds
  ansible.builtin.debug:
    msg: "{{ rds_bundle.certificates | map(attribute='name') | list }}"
"""

RETURN = r"""
source:
  description: Where the bundle came from (O(src), or the address downloaded).
  returned: always
  type: str
  sample: https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
source_sha256:
  description: SHA-256 of the bundle as read, before any normalisation; pin it with O(checksum).
  returned: when the bundle was read
  type: str
  sample: 4bb2e0eb0a9fb1be65f24eed7b5a5e5c3ee0eeea6f6a2b9b0e3c5a8c1e9f0d12
line_endings:
  description: The line endings of the bundle as read (C(lf), C(crlf), C(mixed)).
  returned: success
  type: str
  sample: crlf
count:
  description: How many certificates RV(certificates) holds.
  returned: success
  type: int
  sample: 108
certificates:
  description:
    - The certificates to install, in bundle order, duplicates removed, expired ones dropped unless O(keep_expired).
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Stable name derived from the common name, for files, aliases and labels.
      type: str
      sample: amazon-rds-us-east-1-root-ca-rsa2048-g1
    common_name:
      description: Subject common name.
      type: str
      sample: Amazon RDS us-east-1 Root CA RSA2048 G1
    subject:
      description: Subject, RFC 4514.
      type: str
    issuer:
      description: Issuer, RFC 4514.
      type: str
    issuer_common_name:
      description: Issuer common name (the root of an intermediate).
      type: str
    organization:
      description: Subject organization.
      type: str
    organizational_unit:
      description: Subject organizational unit.
      type: str
    self_signed:
      description: Whether subject and issuer are the same (a root).
      type: bool
    is_ca:
      description: Always V(true) (a certificate that is not a CA fails the module).
      type: bool
    ca_identifier:
      description: The RDS CA identifier the certificate stands for (C(rds-ca-rsa2048-g1), C(rds-ca-2019)...), or null.
      type: str
      sample: rds-ca-rsa2048-g1
    region:
      description: The region in the common name, or null.
      type: str
      sample: us-east-1
    serial_number:
      description: Serial number, hex.
      type: str
    key_type:
      description: Public key type and size or curve.
      type: str
      sample: RSA 2048
    not_before:
      description: Start of validity (UTC, ISO 8601).
      type: str
      sample: "2021-05-25T23:34:57Z"
    not_after:
      description: End of validity (UTC, ISO 8601).
      type: str
      sample: "2061-05-25T23:34:57Z"
    days_left:
      description: Whole days until RV(certificates[].not_after).
      type: int
    expired:
      description: Whether the certificate has expired (only V(true) with O(keep_expired)).
      type: bool
    not_yet_valid:
      description: Whether the certificate's validity has not started yet.
      type: bool
    sha256:
      description: SHA-256 fingerprint of the DER encoding, lower-case hex.
      type: str
    sha1:
      description: SHA-1 fingerprint, lower-case hex (the Windows thumbprint and macOS C(security) hash, in upper case there).
      type: str
    spki_sha256:
      description: SHA-256 of the public key (SubjectPublicKeyInfo, DER), lower-case hex.
      type: str
    pinned:
      description: Whether the certificate is one of AWS's RDS CA certificates pinned in the collection's catalog.
      type: bool
    index:
      description: Position of the block in the bundle, from 1.
      type: int
    pem:
      description: The certificate alone, canonical PEM with a final newline.
      type: str
expired:
  description: The expired certificates found (dropped from RV(certificates) unless O(keep_expired)).
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Stable name.
      type: str
    common_name:
      description: Subject common name.
      type: str
    not_after:
      description: When it expired.
      type: str
    sha256:
      description: SHA-256 fingerprint.
      type: str
    sha1:
      description: SHA-1 fingerprint.
      type: str
    index:
      description: Position in the bundle.
      type: int
unpinned:
  description:
    - Certificates with an Amazon RDS name that are not in the pinned catalog, accepted because of
      O(allow_unpinned_rds_cas) (always empty otherwise).
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Stable name.
      type: str
    common_name:
      description: Subject common name.
      type: str
    sha256:
      description: SHA-256 fingerprint.
      type: str
duplicates:
  description: Common names of certificates that appeared more than once (kept once).
  returned: success
  type: list
  elements: str
targets:
  description: The target CA root of each region of O(regions), as found in the bundle.
  returned: success
  type: list
  elements: dict
  contains:
    region:
      description: Region.
      type: str
    ca_identifier:
      description: Target CA identifier.
      type: str
    common_name:
      description: The root's common name.
      type: str
    name:
      description: Its stable name.
      type: str
    sha256:
      description: SHA-256 fingerprint.
      type: str
    sha1:
      description: SHA-1 fingerprint.
      type: str
    not_after:
      description: End of validity.
      type: str
ignored_text:
  description: Text found between or after the PEM blocks and ignored (shortened).
  returned: success
  type: list
  elements: str
bundle:
  description: RV(certificates) concatenated, canonical PEM (for application bundle files).
  returned: success
  type: str
files:
  description: Files written or kept in O(dest), and removed from it.
  returned: when O(dest) is set
  type: dict
  contains:
    written:
      description: Paths (re)written.
      type: list
      elements: str
    unchanged:
      description: Paths already up to date.
      type: list
      elements: str
    removed:
      description: Stale C(amazon-rds-*.pem) paths removed.
      type: list
      elements: str
problems:
  description: Every validation problem found, when the bundle is refused.
  returned: failure
  type: list
  elements: str
"""

import hashlib
import os
import socket
import ssl
import stat
from urllib.error import HTTPError
from urllib.error import URLError
from urllib.parse import parse_qsl
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.basic import env_fallback
from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.urls import open_url

from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import HAS_CRYPTOGRAPHY
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import MANAGED_PREFIX
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import MAX_BUNDLE_BYTES
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import TARGET_CAS
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import BundleError
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import bundle_url
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import load_bundle
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import normalize_pins
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import parse_checksum
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import verify_checksum
from ansible_collections.rdsca.rotation.plugins.module_utils import safe_files
from ansible_collections.rdsca.rotation.plugins.module_utils.safe_files import UnsafePathError
from ansible_collections.rdsca.rotation.plugins.module_utils.option_names import deprecated

# The mode of the files written to dest when O(mode) is unset.
FILE_MODE = 0o644

USER_AGENT = "ansible-rdsca.rotation-rds_ca_bundle"


def argument_spec():
    return dict(
        src=dict(type="path"),
        url=dict(type="str"),
        region=dict(type="str"),
        checksum=dict(type="str"),
        ca_cert=dict(type="path", aliases=["ca_path"], deprecated_aliases=[deprecated("ca_path")]),
        timeout=dict(type="int", default=30),
        regions=dict(type="list", elements="str", default=[]),
        target_cas=dict(type="list", elements="str", choices=list(TARGET_CAS), default=["rds-ca-rsa2048-g1"],
                        aliases=["target_ca"], deprecated_aliases=[deprecated("target_ca")]),
        keep_expired=dict(type="bool", default=False),
        require_rds_subjects=dict(type="bool", default=True),
        allow_unpinned_rds_cas=dict(type="bool", default=False, fallback=(env_fallback, ["RDSCA_ALLOW_UNPINNED_RDS_CAS"])),
        pinned_rds_cas=dict(type="list", elements="str", default=[], fallback=(env_fallback, ["RDSCA_PINNED_RDS_CAS"])),
        dest=dict(type="path"),
    )


class FetchError(Exception):
    pass


REDACTED = "********"


def url_secrets(url):
    """The parts of ``url`` that may be credentials: the user information and every query value."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return []
    secrets = []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        secrets.append(userinfo)
        secrets.extend(p for p in userinfo.split(":", 1) if p)
    secrets.extend(value for _key, value in parse_qsl(parts.query, keep_blank_values=False) if value)
    return [s for s in secrets if len(s) >= 3]


def redact_url(url):
    """``url`` without credentials: ``https://********@host/path?X-Amz-Signature=********``."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        netloc = REDACTED + "@" + netloc.rsplit("@", 1)[1]
    query = "&".join("%s=%s" % (key, REDACTED if value else "") for key, value in
                     parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def fetch(url, timeout, ca_path=None):
    """Download ``url`` with certificate verification (always on); at most MAX_BUNDLE_BYTES.

    Messages name the address without its credentials (:func:`redact_url`).
    """
    shown = redact_url(url)
    try:
        response = open_url(url, validate_certs=True, ca_path=ca_path, timeout=timeout, http_agent=USER_AGENT,
                            follow_redirects="safe")
        final_url = response.geturl() or url
        if url.lower().startswith("https:") and not final_url.lower().startswith("https:"):
            raise FetchError("downloading %s was redirected to %s, which is not HTTPS: refused" % (shown, redact_url(final_url)))
        data = response.read(MAX_BUNDLE_BYTES + 1)
    except HTTPError as exc:
        raise FetchError("downloading %s failed: HTTP %s %s" % (shown, exc.code, exc.reason))
    except URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise FetchError("downloading %s failed: the server's certificate does not verify (%s); "
                             "set ca_cert for a mirror or proxy with a private CA" % (shown, reason.verify_message or reason))
        raise FetchError("downloading %s failed: %s" % (shown, reason))
    except (socket.timeout, TimeoutError):
        raise FetchError("downloading %s timed out after %ss" % (shown, timeout))
    except (ssl.SSLError, OSError) as exc:
        raise FetchError("downloading %s failed: %s" % (shown, exc))
    if len(data) > MAX_BUNDLE_BYTES:
        raise FetchError("%s is larger than %d bytes: not a CA bundle" % (shown, MAX_BUNDLE_BYTES))
    return data


def read_source(params):
    """(data, source description) from ``src``, ``url`` or ``region``."""
    if params["src"]:
        return read_src(params["src"]), params["src"]
    url = params["url"] or bundle_url(params["region"])
    shown = redact_url(url)
    scheme = url.split(":", 1)[0].lower()
    if scheme == "http" and not params["checksum"]:
        raise FetchError("refusing to download a trust anchor over plain HTTP (%s) without a pinned checksum: "
                         "use https or set checksum" % shown)
    if scheme not in ("https", "http"):
        raise FetchError("url %s: only https (or http with a checksum) is supported; use src for a local file" % shown)
    return fetch(url, params["timeout"], params["ca_cert"]), shown


def read_src(path):
    """The bytes of a local bundle; its size is checked on the open file before anything is read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        raise FetchError("src %s does not exist or is not a file" % path)
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise FetchError("src %s does not exist or is not a file" % path)
        if st.st_size > MAX_BUNDLE_BYTES:
            raise FetchError("src %s is larger than %d bytes: not a CA bundle" % (path, MAX_BUNDLE_BYTES))
        data = handle.read(MAX_BUNDLE_BYTES + 1)
    if len(data) > MAX_BUNDLE_BYTES:
        raise FetchError("src %s is larger than %d bytes: not a CA bundle" % (path, MAX_BUNDLE_BYTES))
    return data


def refusal_hint(problems, params):
    """What to do about a refused bundle, in one sentence."""
    text = " ".join(problems)
    if "does not match the pinned checksum" in text:
        return "Find out why the content differs from the pinned one before changing checksum."
    if "is not one of AWS's pinned RDS CA certificates" in text:
        return ("Use AWS's bundle; if AWS has published a new RDS CA, refresh the pinned catalog (docs/client-trust.md), "
                "or pin its fingerprint (pinned_rds_cas) after checking it with AWS.")
    if "is not an Amazon RDS CA" in text:
        return "Use AWS's RDS bundle, or set require_rds_subjects=false if the bundle adds other CAs on purpose."
    if "holds no valid certificate" in text or "lacks the target CA" in text:
        return "Use the current bundle (%s), which holds every valid RDS root." % bundle_url(None)
    try:
        url = redact_url(params["url"]) if params["url"] else bundle_url(params["region"])
    except BundleError:
        url = bundle_url(None)
    where = "src %s" % params["src"] if params["src"] else "what was downloaded"
    return "Get a complete copy of the bundle again (%s): %s is not a usable PEM bundle." % (url, where)


def file_settings(module):
    """``(mode, uid, gid)`` of the files written to ``dest``, from the common file options (O(mode) default 0644)."""
    params = module.params
    try:
        mode = safe_files.parse_mode(params["mode"], "mode")
        uid = safe_files.lookup_uid(params["owner"])
        gid = safe_files.lookup_gid(params["group"])
    except ValueError as exc:
        module.fail_json(msg="Invalid options, nothing was changed: %s" % exc)
    return (FILE_MODE if mode is None else mode), uid, gid


def extra_attributes(module, path):
    """SELinux context and file attributes through Ansible's file handling (owner, group, mode are set on the fd)."""
    params = module.params
    if module.check_mode or not any(params.get(k) for k in ("seuser", "serole", "setype", "selevel", "attributes")):
        return False
    file_args = module.load_file_common_arguments(params, path=path)
    file_args.update(mode=None, owner=None, group=None)
    return module.set_fs_attributes_if_different(file_args, False)


def attributes_differ(fd, name, mode, uid, gid):
    """Whether the existing file ``name`` has another mode, owner or group (check mode)."""
    st = safe_files.entry_stat(fd, name)
    return st is not None and (stat.S_IMODE(st.st_mode) != mode or (uid != -1 and st.st_uid != uid)
                               or (gid != -1 and st.st_gid != gid))


def sync_dest(module, dest, certificates, bundle):
    """Make ``dest`` hold exactly ``<name>.pem`` per certificate plus ``bundle.pem`` (O(mode), 0644 by default, in a
    0755 directory, whatever the umask; written atomically, without following links another user controls)."""
    files = {"written": [], "unchanged": [], "removed": []}
    mode, uid, gid = file_settings(module)
    try:
        directory = safe_files.resolve(dest)
        if os.path.lexists(directory) and not os.path.isdir(directory):
            module.fail_json(msg="dest %s exists and is not a directory" % dest)
        fd, _created = safe_files.open_directory(directory, create=True, dir_mode=0o755, check_mode=module.check_mode)
        if fd is not None:
            # A file is only given to another user than root (or us) inside that user's own directory.
            safe_files.check_owner_inside_own_tree(fd, directory, uid, "dest")
    except UnsafePathError as exc:
        module.fail_json(msg="dest: %s" % exc)
    wanted = dict((cert["name"] + ".pem", cert["pem"]) for cert in certificates)
    wanted["bundle.pem"] = bundle
    try:
        for name in sorted(wanted):
            path = os.path.join(dest, name)
            content = wanted[name].encode("ascii")
            current = safe_files.read_file(fd, name, MAX_BUNDLE_BYTES) if fd is not None else None
            if current == content:
                if not module.check_mode and (safe_files.set_attributes(fd, name, mode, uid, gid)
                                              | extra_attributes(module, path)):
                    files["written"].append(path)
                elif module.check_mode and attributes_differ(fd, name, mode, uid, gid):
                    files["written"].append(path)
                else:
                    files["unchanged"].append(path)
                continue
            files["written"].append(path)
            if not module.check_mode:
                safe_files.write_file(fd, name, content, mode, uid, gid)
                extra_attributes(module, path)
        if fd is not None:
            for entry in sorted(os.listdir(fd)):
                entry_stat = safe_files.entry_stat(fd, entry)
                if (entry.startswith(MANAGED_PREFIX) and entry.endswith(".pem") and entry not in wanted
                        and entry_stat is not None and stat.S_ISREG(entry_stat.st_mode)):
                    files["removed"].append(os.path.join(dest, entry))
                    if not module.check_mode:
                        os.unlink(entry, dir_fd=fd)
    finally:
        if fd is not None:
            os.close(fd)
    return files


def run(module):
    params = module.params
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"))
    regions = [r for r in params["regions"] if r]
    if not regions and params["region"]:
        regions = [params["region"]]
    result = {"changed": False}
    # Credentials in the address never show: not in messages, not in the logged invocation.
    for secret in url_secrets(params["url"]):
        module.no_log_values.add(secret)
    if params["timeout"] <= 0:
        module.fail_json(msg="Invalid options: timeout must be more than 0, got %s (seconds to wait for the download)"
                             % params["timeout"])
    try:
        if params["checksum"]:
            parse_checksum(params["checksum"])  # a malformed pin fails before any download
        normalize_pins(params["pinned_rds_cas"])  # so does a malformed pinned_rds_cas fingerprint
        data, source = read_source(params)
        result["source"] = source
        result["source_sha256"] = hashlib.sha256(data).hexdigest()
        if params["checksum"]:
            verify_checksum(data, params["checksum"], source)
        if source.lower().startswith("http:"):
            module.warn("%s was downloaded over plain HTTP, which is neither encrypted nor authenticated: only the "
                        "pinned checksum vouches for its content" % source)
        loaded = load_bundle(data, keep_expired=params["keep_expired"],
                             require_rds_subjects=params["require_rds_subjects"], regions=regions,
                             target_cas=params["target_cas"], source=source,
                             allow_unpinned=params["allow_unpinned_rds_cas"], pins=params["pinned_rds_cas"])
    except FetchError as exc:
        module.fail_json(msg=str(exc), **result)
    except BundleError as exc:
        module.fail_json(msg="The CA bundle was refused, nothing was changed: %s. %s" % (
            str(exc).rstrip("."), refusal_hint(exc.problems, params)), problems=exc.problems, **result)

    result.update(loaded)
    result["count"] = len(loaded["certificates"])
    if loaded["expired"]:
        action = "kept (keep_expired=true)" if params["keep_expired"] else "dropped"
        names = ", ".join(c["common_name"] or c["name"] for c in loaded["expired"])
        module.warn("%d expired certificate(s) %s: %s" % (len(loaded["expired"]), action, names))
    if loaded["ignored_text"]:
        module.warn("text outside the PEM blocks of %s was ignored: %s" % (source, "; ".join(loaded["ignored_text"])))
    if loaded["unpinned"]:
        module.warn("%d certificate(s) with an Amazon RDS name are NOT among AWS's pinned RDS CA certificates and were "
                    "accepted only because allow_unpinned_rds_cas is set: %s" % (
                        len(loaded["unpinned"]), ", ".join("%s (SHA-256 %s)" % (c["common_name"], c["sha256"])
                                                           for c in loaded["unpinned"])))
    not_yet_valid = [c["common_name"] for c in loaded["certificates"] if c["not_yet_valid"]]
    if not_yet_valid:
        module.warn("certificate(s) not valid yet: %s" % ", ".join(not_yet_valid))
    if params["dest"]:
        files = sync_dest(module, params["dest"], loaded["certificates"], loaded["bundle"])
        result["files"] = files
        result["changed"] = bool(files["written"] or files["removed"])
    result["msg"] = "%d certificate(s) from %s (%d expired %s)" % (
        result["count"], source, len(loaded["expired"]), "kept" if params["keep_expired"] else "dropped")
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[["src", "url"], ["src", "region"], ["url", "region"]],
        add_file_common_args=True,
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
