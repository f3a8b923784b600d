# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # The database login options, named as community.postgresql names them
    # (community.postgresql plugins/doc_fragments/postgres.py: login_user, login_password, login_db,
    # ssl_mode, ca_cert), so that a playbook's variables fit both collections. The host and port come
    # from each database's endpoint (connect_host/connect_port only redirect the TCP connection, for a
    # tunnel, while TLS is still verified against the endpoint name: hence not login_host/login_port).
    # Used by rds_ssl_usage; the matching argument spec is in plugins/modules/rds_ssl_usage.py.
    DOCUMENTATION = r"""
options:
  login_user:
    description:
      - Database user to log in as. Without it, nothing that needs a login is done.
    type: str
  login_password:
    description:
      - Password of O(login_user). Never logged or returned, and removed from every error message.
    type: str
  login_db:
    description:
      - Database to connect to. Default C(postgres) for PostgreSQL, none for MySQL and MariaDB.
    type: str
  ssl_mode:
    description:
      - How the module's own database connection is protected.
      - C(verify-full) (default) uses TLS with full verification of the chain against O(ca_cert) and of the
        endpoint address, also through O(connect_host).
      - C(disable) connects in plaintext. Only for servers that do not offer TLS; the password then travels in clear,
        and the module prints a warning saying so.
    type: str
    choices: [verify-full, disable]
    default: verify-full
  ca_cert:
    description:
      - PEM file of the CA certificates servers are verified against, for example the RDS global bundle
        (C(https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)).
      - The same option name in every module of the collection (and in community.postgresql) for "the CA
        certificates a TLS server is verified against".
      - The system trust store when unset.
    type: path
"""
