# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One name per concept across the modules, and the former names kept as deprecated aliases.

The names (docs/options.md):

- ``ca_cert``: the PEM file of CA certificates a TLS server is verified against (community.postgresql's
  name), formerly ``ca_bundle`` (rds_ssl_usage), ``verify_ca_bundle`` (rds_ca_rotate), ``ca_path``
  (rds_ca_bundle) and ``endpoints[].ca_file`` (rds_ca_trust_verify).
- ``concurrency``: how many at a time, formerly ``max_concurrent`` (rds_ca_rotate) and ``max_workers``
  (rds_ssl_usage); rds_ssl_usage's probe pool is a separate pool, ``probe_concurrency`` (formerly
  ``probe_workers``).
- ``strict``: fail the task when one item failed, formerly ``fail_on_error`` (rds_ca_trust_verify).
- ``target_ca``: the one CA databases are rotated to (a string); rds_ca_bundle's list of CAs the bundle
  must hold is ``target_cas``, and its former ``target_ca`` (a list, or one string) is its alias.

Each module's range of a renamed number is still the one :data:`numbers.RULES` gives under the rule's
name (``concurrency`` of rds_ca_rotate is at most 500 databases, of rds_ssl_usage at most 256 workers):
:func:`number_view` maps one to the other.
"""

from typing import Any, Dict, List, Tuple

COLLECTION = "rdsca.rotation"
# The major release that removes the former names (galaxy.yml: 0.1.0 today).
REMOVED_IN = "1.0.0"


def deprecated(name: str) -> Dict[str, str]:
    """A ``deprecated_aliases`` entry of the argument spec for the former name ``name``."""
    return dict(name=name, version=REMOVED_IN, collection_name=COLLECTION)


def number_view(params: Dict[str, Any], rules: Dict[str, str]) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """``(values, labels)`` for :func:`numbers.check_numbers`: ``rules`` maps an option to the RULES entry of its range.

    ``values`` holds each such option's value under its rule's name (and not under its own), ``labels`` names it
    by the option, so that messages say ``concurrency must be at most 500 (databases)``.
    """
    values = dict((k, v) for k, v in params.items() if k not in rules)
    labels = {}
    for option, rule in rules.items():
        values[rule] = params.get(option)
        labels[rule] = option
    return values, labels


def renamed_names(names: List[str], rules: Dict[str, str]) -> List[str]:
    """``names`` with each option of ``rules`` replaced by its rule's name."""
    return [rules.get(name, name) for name in names]
