# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which database clients are managed by the Ansible inventory, and which are not.

A CA rotation breaks the TLS clients whose trust store nobody updates. The ca_trust role updates the hosts of
the inventory; this module compares them with the client addresses the databases saw - sessions watched by
rds_ssl_usage (``databases[].clients``) and connection log lines read through the RDS API
(``databases[].log_evidence.clients``) - and names:

- TLS clients at addresses no managed host has (nothing will update their trust store),
- managed hosts that never connected (in the evidence there is - which may be incomplete, and says so),
- addresses that are shared (a NAT gateway, a load balancer, an RDS Proxy, or one address given for several
  hosts): an address there is not a host, and the clients behind it cannot be told apart.

Only the standard library: the filter plugin ``client_coverage`` runs it on the controller.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Iterable, Mapping, Optional

# Host variables that carry a host's addresses, in the order they are read. ``rdsca_client_addresses`` lets
# the inventory name addresses facts cannot see (an egress address, a second interface).
ADDRESS_FACTS = ("all_ipv4_addresses", "all_ipv6_addresses")


def _ip(text: Any) -> Optional[str]:
    """The canonical text of an IP address, or None when text is not one (a host name, empty, [local])."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]").split("%", 1)[0]))
    except ValueError:
        return None


def host_addresses(variables: Mapping[str, Any]) -> list[str]:
    """The IP addresses a host is known by: ansible_host (when an IP), its gathered facts, rdsca_client_addresses."""
    found: list[str] = []
    candidates: list[Any] = [variables.get("ansible_host")]
    facts = variables.get("ansible_facts") or {}
    for name in ADDRESS_FACTS:
        candidates.extend(facts.get(name) or [])
    default = facts.get("default_ipv4") or {}
    candidates.append(default.get("address"))
    extra = variables.get("rdsca_client_addresses") or []
    candidates.extend([extra] if isinstance(extra, str) else extra)
    for candidate in candidates:
        address = _ip(candidate)
        if address and address not in found:
            found.append(address)
    return found


def _shared_networks(shared: Mapping[str, str]) -> list[tuple[Any, str]]:
    networks = []
    for key, label in (shared or {}).items():
        try:
            networks.append((ipaddress.ip_network(str(key).strip(), strict=False), str(label)))
        except ValueError as exc:
            raise ValueError("shared_addresses: %r is not an IP address or network (CIDR)" % (key,)) from exc
    return networks


def _shared_label(address: str, networks: list[tuple[Any, str]]) -> Optional[str]:
    ip = ipaddress.ip_address(address)
    for network, label in networks:
        if ip.version == network.version and ip in network:
            return label
    return None


def _database_label(database: Mapping[str, Any]) -> str:
    """rds_ssl_usage's label of the database (rds_domain.db_label: the account only across accounts); an item
    without one, by what it says."""
    if database.get("label"):
        return str(database["label"])
    parts = [database.get("account"), database.get("region"), database.get("identifier")]
    return "/".join(str(p) for p in parts if p)


def observations(databases: Iterable[Mapping[str, Any]]) -> Iterable[dict[str, Any]]:
    """Every (address, TLS or not) a database saw, from its watched sessions and from its connection logs."""
    for database in databases:
        label = _database_label(database)
        for client in database.get("clients") or []:
            address = _ip(client.get("client_address"))
            if address is None:
                continue
            for tls, seen in ((True, client.get("uses_ssl")), (False, client.get("uses_plaintext"))):
                if seen:
                    yield {"address": address, "tls": tls, "database": label, "user": client.get("user"),
                           "application": client.get("application_name"), "source": "sessions",
                           "first_seen": client.get("first_seen"), "last_seen": client.get("last_seen")}
        for client in (database.get("log_evidence") or {}).get("clients") or []:
            address = _ip(client.get("address"))
            if address is None:
                continue
            # MySQL/MariaDB audit logs say who connected, not always whether with TLS: None stays unknown.
            tls = client.get("tls") if client.get("tls") in (True, False) else None
            yield {"address": address, "tls": tls, "database": label, "user": client.get("user"),
                   "application": client.get("application"), "source": "logs",
                   "first_seen": client.get("first_seen"), "last_seen": client.get("last_seen")}


def evidence_state(databases: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """How far the evidence goes: databases with complete log evidence, and those without it; databases whose
    sessions were listed (a snapshot of the clients connected while they were watched), and those with neither."""
    total, complete, incomplete, sessions, without = 0, 0, [], 0, []
    for database in databases:
        total += 1
        log = database.get("log_evidence") or {}
        listed = bool((database.get("usage") or {}).get("available"))
        sessions += listed
        if log.get("complete"):
            complete += 1
        else:
            incomplete.append(_database_label(database))
            if not listed:
                without.append(_database_label(database))
    return {"databases": total, "complete": complete, "incomplete": incomplete, "sessions": sessions,
            "without_evidence": without}


def _merge(entry: dict[str, Any], seen: Mapping[str, Any]) -> None:
    for key, value in (("databases", seen["database"]), ("users", seen["user"]),
                       ("applications", seen["application"]), ("sources", seen["source"])):
        if value and value not in entry[key]:
            entry[key].append(value)
    for key, pick in (("first_seen", min), ("last_seen", max)):
        if seen.get(key):
            entry[key] = pick(entry[key], seen[key]) if entry.get(key) else seen[key]


def _new_entry(address: str, tls: Optional[bool]) -> dict[str, Any]:
    return {"address": address, "tls": tls, "databases": [], "users": [], "applications": [], "sources": [],
            "first_seen": None, "last_seen": None}


# Order of one address's entries: TLS, unknown, plaintext.
TLS_RANK = {True: 0, None: 1, False: 2}


def coverage(databases: list[Mapping[str, Any]], hosts: Mapping[str, list[str]],
             shared_addresses: Optional[Mapping[str, str]] = None) -> dict[str, Any]:
    """Managed and unmanaged clients of the databases.

    ``databases``: rds_ssl_usage's ``databases``; ``hosts``: managed host name -> its addresses
    (:func:`host_addresses`); ``shared_addresses``: address or CIDR -> what it is ("NAT gateway nat-0abc").
    """
    networks = _shared_networks(shared_addresses or {})
    owners: dict[str, list[str]] = {}
    for host, addresses in hosts.items():
        for address in addresses:
            owners.setdefault(address, []).append(host)
    by_key: dict[tuple[str, Optional[bool]], dict[str, Any]] = {}
    for seen in observations(databases):
        entry = by_key.setdefault((seen["address"], seen["tls"]), _new_entry(seen["address"], seen["tls"]))
        _merge(entry, seen)
    unmanaged: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    shared: list[dict[str, Any]] = []
    managed: dict[str, dict[str, Any]] = {}
    for (address, tls), entry in sorted(by_key.items(), key=lambda kv: (_sort_ip(kv[0][0]), TLS_RANK[kv[0][1]])):
        label = _shared_label(address, networks)
        hosts_here = owners.get(address, [])
        if label is None and len(hosts_here) > 1:
            label = "one address given for %d managed hosts" % len(hosts_here)
        if label is not None:
            shared.append(dict(entry, shared_as=label, hosts=sorted(hosts_here)))
        elif hosts_here:
            host = managed.setdefault(hosts_here[0], {"host": hosts_here[0], "addresses": hosts[hosts_here[0]],
                                                      "tls": False, "plaintext": False, "databases": []})
            host["tls" if tls is not False else "plaintext"] = True
            host["databases"] += [d for d in entry["databases"] if d not in host["databases"]]
        else:
            # A client whose TLS is unknown may be a TLS client: listed with them (tls: None), never as plaintext.
            unmanaged[tls is not False].append(entry)
    seen_hosts = set(managed) | {h for s in shared for h in s["hosts"]}
    evidence = evidence_state(databases)
    never_seen = sorted(h for h, addresses in hosts.items() if addresses and h not in seen_hosts)
    return {
        "unmanaged_tls_clients": unmanaged[True],
        "unmanaged_plaintext_clients": unmanaged[False],
        "managed_clients": [managed[h] for h in sorted(managed)],
        "never_seen_hosts": never_seen,
        "hosts_without_addresses": sorted(h for h, addresses in hosts.items() if not addresses),
        "shared_addresses": shared,
        "evidence": evidence,
        "summary": {"unmanaged_tls": len(unmanaged[True]), "unmanaged_plaintext": len(unmanaged[False]),
                    "managed_seen": len(managed), "never_seen": len(never_seen), "shared": len(shared),
                    "evidence_complete": not evidence["incomplete"]},
    }


def _sort_ip(address: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(address)
    return ip.version, int(ip)
