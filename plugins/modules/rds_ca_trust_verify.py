#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: rds_ca_trust_verify
short_description: From a client host, check that database endpoints verify with the host's own trust store
version_added: 0.1.0
description:
  - Used by the C(rdsca.rotation.ca_trust) role. For each endpoint, opens a TCP connection from the
    client host, performs the engine's TLS upgrade (PostgreSQL C(SSLRequest), the MySQL/MariaDB
    handshake's C(SSLRequest) packet, or TLS from the first byte), and verifies the server's chain and
    host name against the host's default trust store (Python C(ssl.create_default_context()), which
    reads the same OpenSSL files as C(openssl), C(curl) and libpq's C(sslrootcert=system)), or against
    a given CA file.
  - The TCP connection may go to another address than the name verified (O(endpoints[].connect_host)),
    for a tunnel, a port forward or a test server; the certificate must still name O(endpoints[].server_name).
  - No credentials are sent, and no query. When verification fails, a second handshake without
    verification reads the presented certificate so that the message can say which CA issued it;
    that handshake never counts as verified.
  - Fails (unless O(strict=false)) naming every endpoint that did not verify and why.
author:
  - rdsca.rotation maintainers (@rdsca)
options:
  endpoints:
    description: The endpoints to check.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: A label for messages; defaults to O(endpoints[].server_name).
        type: str
      server_name:
        description: The name the certificate must carry (the RDS endpoint address).
        type: str
        required: true
      port:
        description: The database port.
        type: int
        required: true
      connect_host:
        description: Where to connect, when not O(endpoints[].server_name) (an IP address, a tunnel).
        type: str
      connect_port:
        description: The port to connect to, when not O(endpoints[].port).
        type: int
      protocol:
        description: How TLS starts.
        type: str
        choices: [postgres, mysql, tls]
        default: postgres
      ca_cert:
        description:
          - Verify against this PEM file instead of the host's default trust store.
          - The same name as the CA file of every module of the collection (and of community.postgresql). The
            deprecated alias O(endpoints[].ca_file) is its former name.
        type: path
        aliases: [ca_file]
  timeout:
    description: Seconds allowed for each connection and handshake (a finite number, more than 0, at most 3600; NaN and infinity are refused).
    type: float
    default: 10
  strict:
    description:
      - Fail when an endpoint does not verify. With V(false), such endpoints are reported with a warning.
      - The one name of the collection for this switch (as in M(rdsca.rotation.rds_ca_facts) and
        M(rdsca.rotation.rds_ssl_usage)); the default stays V(true) here, as a client that cannot verify is the
        failure this module looks for. The deprecated alias O(fail_on_error) is its former name.
    type: bool
    default: true
    aliases: [fail_on_error]
extends_documentation_fragment:
  - rdsca.rotation.attributes
  - rdsca.rotation.attributes.INFO_MODULE
  - rdsca.rotation.attributes.POSIX_PLATFORM
"""

EXAMPLES = r"""
- name: Verify from each client host
  rdsca.rotation.rds_ca_trust_verify:
    endpoints:
      - server_name: orders.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com
        port: 5432
      - server_name: billing.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com
        port: 3306
        protocol: mysql
"""

RETURN = r"""
trust_store:
  description: The default trust store of the host (OpenSSL's default CA file and directory, as Python sees them).
  returned: always
  type: dict
  sample: {cafile: /usr/lib/ssl/cert.pem, capath: /usr/lib/ssl/certs}
endpoints:
  description: One result per endpoint, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The endpoint's label.
      type: str
    server_name:
      description: Name verified.
      type: str
    connect_host:
      description: Address connected to.
      type: str
    connect_port:
      description: Port connected to.
      type: int
    protocol:
      description: TLS upgrade used.
      type: str
    verified:
      description: The chain and host name verified (null when no TLS handshake happened).
      type: bool
    error:
      description: Why no TLS handshake could be made (connection refused, no TLS...), or null.
      type: str
    verify_error:
      description: Why verification failed, with the issuer of the presented certificate, or null.
      type: str
    presented_ca:
      description: The RDS CA identifier of the presented certificate's issuer, when recognised.
      type: str
    trust_anchor:
      description: The root the verified chain ended at.
      type: str
    tls_version:
      description: Negotiated TLS version.
      type: str
    issuer:
      description: Common name of the issuer of the presented certificate.
      type: str
    trust:
      description: C(system) (the host's trust store) or the O(endpoints[].ca_cert) used.
      type: str
    hostname_matches:
      description: Whether the presented certificate names O(endpoints[].server_name).
      type: bool
    elapsed_ms:
      description: Time taken.
      type: int
failed_endpoints:
  description: Labels of the endpoints that did not verify.
  returned: always
  type: list
  elements: str
"""

import ssl

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.rdsca.rotation.plugins.module_utils.numbers import check_numbers
from ansible_collections.rdsca.rotation.plugins.module_utils.option_names import deprecated
from ansible_collections.rdsca.rotation.plugins.module_utils.tls_probe import probe_endpoint

KEPT = ("server_name", "connect_host", "connect_port", "protocol", "verified", "error", "verify_error", "verify_code",
        "presented_ca", "presented_ca_region", "trust_anchor", "tls_version", "hostname_matches", "elapsed_ms")


def check(endpoint, timeout):
    probe = probe_endpoint(endpoint["server_name"], endpoint["port"], endpoint["protocol"],
                           connect_host=endpoint["connect_host"], connect_port=endpoint["connect_port"],
                           ca_bundle=endpoint["ca_cert"], timeout=timeout)
    result = dict((key, probe.get(key)) for key in KEPT)
    result["name"] = endpoint["name"] or endpoint["server_name"]
    result["trust"] = endpoint["ca_cert"] or "system"
    certificate = probe.get("certificate") or {}
    result["issuer"] = certificate.get("issuer_cn")
    return result


def describe_failure(result):
    where = "%s (%s:%s, %s)" % (result["name"], result["connect_host"], result["connect_port"], result["protocol"])
    if result["error"]:
        return "%s: no TLS handshake: %s" % (where, result["error"])
    trust = "this host's trust store" if result["trust"] == "system" else result["trust"]
    return "%s: does NOT verify with %s: %s" % (where, trust, result["verify_error"] or "verification failed")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            endpoints=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str"),
                server_name=dict(type="str", required=True),
                port=dict(type="int", required=True),
                connect_host=dict(type="str"),
                connect_port=dict(type="int"),
                protocol=dict(type="str", default="postgres", choices=["postgres", "mysql", "tls"]),
                ca_cert=dict(type="path", aliases=["ca_file"], deprecated_aliases=[deprecated("ca_file")]),
            )),
            timeout=dict(type="float", default=10.0),
            strict=dict(type="bool", default=True, aliases=["fail_on_error"], deprecated_aliases=[deprecated("fail_on_error")]),
        ),
        supports_check_mode=True,
    )
    # Every number: finite, in range (plugins/module_utils/numbers.py, shared by every module).
    problems = check_numbers(module.params, ["timeout"])
    for index, endpoint in enumerate(module.params["endpoints"]):
        problems += check_numbers(endpoint, ["port", "connect_port"],
                                  labels=dict((k, "endpoints[%d].%s" % (index, k)) for k in ("port", "connect_port")))
    if problems:
        module.fail_json(msg="Invalid options: %s (timeout: seconds for each connection and handshake)" % "; ".join(problems),
                         problems=problems)
    paths = ssl.get_default_verify_paths()
    results = [check(endpoint, module.params["timeout"]) for endpoint in module.params["endpoints"]]
    failed = [r for r in results if r["verified"] is not True]
    outcome = dict(
        changed=False,
        endpoints=results,
        failed_endpoints=[r["name"] for r in failed],
        trust_store={"cafile": paths.cafile, "capath": paths.capath},
    )
    if failed:
        message = "%d of %d endpoint(s) failed TLS verification from this host: %s" % (
            len(failed), len(results), "; ".join(describe_failure(r) for r in failed))
        if module.params["strict"]:
            module.fail_json(msg=message, **outcome)
        module.warn(message)
        outcome["msg"] = message
    else:
        outcome["msg"] = "%d endpoint(s) verified with %s" % (
            len(results), ", ".join(sorted(set("this host's trust store" if r["trust"] == "system" else r["trust"]
                                               for r in results))))
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
