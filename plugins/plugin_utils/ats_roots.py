# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Amazon Trust Services roots, for clients of RDS Proxy endpoints and Neptune endpoints (issue 17).

Those endpoints present ACM certificates (Amazon RDS User Guide, "Using TLS/SSL with RDS Proxy"; Neptune User
Guide, "Encrypting connections ... with SSL/HTTPS"), chained to the Amazon Trust Services roots published at
https://www.amazontrust.com/repository/ (ACM User Guide, "Trusted certificate authorities"). The ca_trust role
(``ca_trust_amazon_trust_services``) installs them from a PEM file the operator supplies - the files of that
repository, or a system bundle that holds them (``/etc/ssl/certs/ca-certificates.crt``): only the certificates
whose SHA-256 fingerprint is one of the published roots' (:data:`PINNED`) are taken, whatever else the file holds.
Keys, not names: a certificate named like an Amazon root with another fingerprint is refused (or, for a test PKI
such as the simulator's, accepted with ``allow_unpinned``).
"""

from __future__ import annotations

import re
from typing import Any

# The collection's standard-library DER reader (as rds_ca_trust_store on client hosts): no cryptography needed.
from ansible_collections.rdsca.rotation.plugins.module_utils.bundle import BundleError, der_summary, fingerprint, split_pem

# SHA-256 of the DER of each root, as published by Amazon Trust Services (https://www.amazontrust.com/repository/).
PINNED = {
    "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e": "Amazon Root CA 1",
    "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4": "Amazon Root CA 2",
    "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4": "Amazon Root CA 3",
    "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092": "Amazon Root CA 4",
    "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5": "Starfield Services Root Certificate Authority - G2",
}
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.S)


def _slug(name: str) -> str:
    return "amazon-trust-services-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def ats_roots(pem_text: Any, allow_unpinned: bool = False) -> tuple[list[dict[str, Any]], list[str]]:
    """``(certificates, problems)``: the Amazon Trust Services roots in ``pem_text``, for rds_ca_trust_store.

    Each certificate is ``{name, pem, subject_cn, sha256, pinned}``; ``name`` is a stable slug
    (``amazon-trust-services-amazon-root-ca-1``). Problems: no PEM text, a certificate that cannot be parsed,
    a certificate named like a root (:data:`PINNED`) whose fingerprint is not the published one (unless
    ``allow_unpinned``; never when it is not a CA), and no root found at all.
    """
    if not isinstance(pem_text, str) or "-----BEGIN CERTIFICATE-----" not in pem_text:
        return [], ["no PEM certificates in the Amazon Trust Services bundle"]
    names = set(PINNED.values())
    found: dict[str, dict[str, Any]] = {}
    problems = []
    unreadable = 0
    for block in _PEM.findall(pem_text):
        try:
            der = split_pem(block)["blocks"][0]["der"]
            summary = der_summary(der)
        except (BundleError, ValueError):  # DERError is a ValueError
            unreadable += 1  # never installed: only a certificate read and checked here can be
            continue
        digest = fingerprint(der)
        cn = summary["subject_cn"] or ""
        pinned = digest in PINNED
        if not pinned and cn not in names:
            continue  # any other CA of a system bundle
        if not pinned and not (allow_unpinned and summary["is_ca"]):
            problems.append("%r (SHA-256 %s) is named like an Amazon Trust Services root but is not the published "
                            "certificate: refused" % (cn, digest))
            continue
        pem = block if block.endswith("\n") else block + "\n"
        found[digest] = {"name": _slug(cn), "pem": pem, "subject_cn": cn, "sha256": digest, "pinned": pinned}
    if not found and not problems:
        problems.append("the bundle holds none of the Amazon Trust Services roots (%s)%s" % (", ".join(sorted(names)), (
            "; %d certificate(s) could not be read" % unreadable) if unreadable else ""))
    return sorted(found.values(), key=lambda c: (c["name"], c["sha256"])), problems
