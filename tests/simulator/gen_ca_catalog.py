"""Generate tests/simulator/ca_catalog.json from AWS's published RDS CA bundles.

    python -m tests.simulator.gen_ca_catalog [--data-dir ../shared/data/rds-ca] [--output FILE]

For every region in the bundles it records, per CA identifier, what DescribeCertificates returns
in that region: ``Thumbprint`` (SHA-1 of the DER of the root, as AWS computes it), ``ValidFrom`` and
``ValidTill`` (the root's notBefore/notAfter), plus the root's subject CN and key algorithm. The
bundles themselves are not copied into the project: only these derived facts are.

Sources (see ../shared/data/rds-ca/README.md):

* ``global-bundle.pem``: the G1 roots, ``Amazon RDS <region> Root CA RSA2048 G1`` (and RSA4096, ECC384)
  ↔ rds-ca-rsa2048-g1 (rds-ca-rsa4096-g1, rds-ca-ecc384-g1).
* ``global-bundle.2024-06.121certs-with-rds-ca-2019.crlf.pem``: rds-ca-2019 ↔ ``Amazon RDS Root 2019 CA``,
  except in the regions that had their own ``Amazon RDS <region> Root CA`` (af-south-1, eu-south-1,
  me-south-1), which is why rds-ca-2019 expired on other dates there. A region appears with rds-ca-2019 only
  when that bundle holds its chain (``Amazon RDS <region> 2019 CA`` or its own root).

The "Beta" and "Preview" roots are not regions and are left out.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(HERE)), "..", "shared", "data", "rds-ca")
DEFAULT_OUTPUT = os.path.join(HERE, "ca_catalog.json")
G1_BUNDLE = "global-bundle.pem"
BUNDLE_2019 = "global-bundle.2024-06.121certs-with-rds-ca-2019.crlf.pem"

_G1_CN = re.compile(r"^Amazon RDS (?P<region>[a-z]{2}(?:-[a-z]+)+-\d+) Root CA (?P<kind>RSA2048|RSA4096|ECC384) G1$")
_OWN_ROOT_CN = re.compile(r"^Amazon RDS (?P<region>[a-z]{2}(?:-[a-z]+)+-\d+) Root CA$")
_2019_INTERMEDIATE_CN = re.compile(r"^Amazon RDS (?P<region>[a-z]{2}(?:-[a-z]+)+-\d+) (?:2019 )?CA$")
_KIND_TO_ID = {"RSA2048": "rds-ca-rsa2048-g1", "RSA4096": "rds-ca-rsa4096-g1", "ECC384": "rds-ca-ecc384-g1"}


def _cn(name: x509.Name) -> str:
    attributes = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attributes[0].value) if attributes else ""


def _key_algorithm(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECC{key.curve.key_size}"
    return type(key).__name__


def _entry(cert: x509.Certificate) -> dict[str, str]:
    return {
        "thumbprint": cert.fingerprint(hashes.SHA1()).hex(),  # noqa: S303 - AWS's Thumbprint is SHA-1
        "valid_from": cert.not_valid_before_utc.isoformat(),
        "valid_till": cert.not_valid_after_utc.isoformat(),
        "subject_cn": _cn(cert.subject),
        "key_algorithm": _key_algorithm(cert),
    }


def _load(path: str) -> list[x509.Certificate]:
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificates(handle.read().replace(b"\r\n", b"\n"))


def build(data_dir: str) -> dict[str, dict[str, dict[str, str]]]:
    catalog: dict[str, dict[str, dict[str, str]]] = {}
    for cert in _load(os.path.join(data_dir, G1_BUNDLE)):
        match = _G1_CN.match(_cn(cert.subject))
        if match:
            catalog.setdefault(match["region"], {})[_KIND_TO_ID[match["kind"]]] = _entry(cert)
    old = _load(os.path.join(data_dir, BUNDLE_2019))
    by_cn = {_cn(c.subject): c for c in old}
    global_root = by_cn["Amazon RDS Root 2019 CA"]
    for cert in old:
        cn = _cn(cert.subject)
        own = _OWN_ROOT_CN.match(cn)
        if own and cert.issuer == cert.subject:
            catalog.setdefault(own["region"], {})["rds-ca-2019"] = _entry(cert)
            continue
        intermediate = _2019_INTERMEDIATE_CN.match(cn)
        if intermediate and _cn(cert.issuer) == "Amazon RDS Root 2019 CA":
            catalog.setdefault(intermediate["region"], {}).setdefault("rds-ca-2019", _entry(global_root))
    return {region: dict(sorted(cas.items())) for region, cas in sorted(catalog.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    parser.add_argument("--output", default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    catalog = build(args.data_dir)
    text = json.dumps({"generated_by": "tests/simulator/gen_ca_catalog.py", "regions": catalog}, indent=1) + "\n"
    with open(args.output, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(f"{args.output}: {len(catalog)} regions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
