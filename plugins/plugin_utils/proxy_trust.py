# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a database's clients must trust, by how they connect: directly, or through an RDS Proxy (issue 17).

Amazon RDS User Guide, "Rotating your SSL/TLS certificate" (Considerations): "RDS Proxy uses certificates from
the AWS Certificate Manager (ACM)... you don't need to update applications that use RDS Proxy connections";
"Using TLS/SSL with RDS Proxy": a proxy endpoint presents the proxy's ACM certificate, chained to Amazon Trust
Services. Neptune User Guide, "Encrypting connections ... with SSL/HTTPS": a Neptune endpoint presents one ACM
wildcard certificate per account and Region, whose root is an Amazon Trust Services root.

So rotating a database's RDS CA changes what its *direct* clients must trust (the new RDS CA), and not what
clients connecting through a proxy (or to a Neptune endpoint) trust. The facts come from rds_ca_facts
(``proxied_by`` with ``proxies: true``, ``endpoint_certificate``); this module only words them.
"""

from __future__ import annotations

from typing import Any, Optional

AMAZON_TRUST_SERVICES = "Amazon Trust Services"


def client_trust(db: dict[str, Any], target_ca: Optional[str] = None, presented_ca: Optional[str] = None) -> dict[str, Any]:
    """``{direct, through_proxies, proxies, changes_with_rotation, text}`` for one rds_ca_facts database.

    * ``direct``: what clients connecting to the database's own endpoint must trust - the ``target_ca`` (RDS CA)
      or, for an endpoint that presents an ACM certificate (Neptune), ``Amazon Trust Services``;
    * ``through_proxies``: ``Amazon Trust Services`` when proxies sit in front of it, None when none do,
      ``unknown`` when the proxies were not read (``proxied_by`` absent or null);
    * ``changes_with_rotation``: whether rotating its CA changes what its direct clients must trust.

    ``presented_ca``: the RDS CA a probe of the endpoint saw (rds_ssl_usage, the playbooks' probes), if any. What the
    endpoint was seen presenting wins over what the engine documents: a Neptune endpoint seen with an RDS CA chain
    is not said to keep an ACM certificate (its direct clients must trust the new RDS CA).
    """
    target = target_ca or "the new RDS CA"
    documented_acm = db.get("endpoint_certificate") == "acm"
    acm = documented_acm and not presented_ca
    proxies = db.get("proxied_by")
    direct = AMAZON_TRUST_SERVICES if acm else target
    if proxies is None:
        through = "unknown"
    else:
        through = AMAZON_TRUST_SERVICES if proxies else None
    if acm:
        text = ("its endpoint presents an ACM certificate (%s), as the Neptune User Guide documents: rotating its CA "
                "does not change what its clients must trust" % AMAZON_TRUST_SERVICES)
    elif documented_acm:
        text = ("its endpoint was seen presenting a certificate of %s (an RDS CA), not the ACM certificate the Neptune "
                "User Guide documents: clients that connect directly must trust %s" % (presented_ca, target))
    else:
        text = "clients that connect directly must trust %s" % target
    if proxies:
        text += ("; clients that connect through %s see the proxy's ACM certificate (%s), which the rotation does "
                 "not change" % (", ".join(proxies), AMAZON_TRUST_SERVICES))
    return {"direct": direct, "through_proxies": through, "proxies": list(proxies or []),
            "changes_with_rotation": not acm, "text": text}


def trust_notes(rows: list[dict[str, Any]]) -> list[str]:
    """Sentences for a report: databases behind RDS Proxies, and endpoints that present an ACM certificate.

    ``rows`` are report rows (or rds_ca_facts databases) carrying ``client_trust`` (:func:`client_trust`).
    """
    trusts = [row.get("client_trust") or {} for row in rows]
    notes = []
    behind = sorted(set(p for trust in trusts for p in trust.get("proxies") or []))
    if behind:
        notes.append("RDS Proxy (%s): clients that connect through a proxy endpoint verify the proxy's ACM certificate, "
                     "issued under %s - rotating the databases' RDS CA does not change it; clients that connect to a "
                     "database directly must trust the new RDS CA" % (", ".join(behind), AMAZON_TRUST_SERVICES))
    acm = sorted(row.get("label") or row.get("identifier") for row, trust in zip(rows, trusts)
                 if trust.get("changes_with_rotation") is False)
    if acm:
        notes.append("Neptune (%s): as the Neptune User Guide documents, its endpoints present an ACM certificate "
                     "(%s); changing its CA does not change what its clients must trust" % (
                         ", ".join(acm), AMAZON_TRUST_SERVICES))
    return notes
