# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: number_settings
short_description: Parse and check the numeric settings of the rdsca.rotation playbooks
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - Turns the numeric C(rdsca_*) settings, as given with C(-e), JSON extra vars or AWX surveys (integers,
    floats or strings of them), into numbers, and lists every value that cannot work.
  - A setting that is not given (undefined, null or an empty string) takes its default; any other value,
    C(0) included, is the user's and is checked. C(0), V("0") and C(0.0) give the same answer.
  - NaN, infinities, booleans, text, fractions where a whole number is needed, and values outside the
    range of the matching module option are refused, with a sentence naming the variable. The interval
    between two polls cannot exceed the wait timeout.
  - The rules are those the modules apply to their options (C(plugins/module_utils/numbers.py)).
positional: _input, defaults
options:
  _input:
    description:
      - The settings as given, a dict of name and value (names without the C(rdsca_) prefix).
    type: dict
    required: true
  defaults:
    description:
      - The default of every setting to resolve, a dict of name and default.
    type: dict
    required: true
  rules:
    description:
      - The module option whose rules check a setting, a dict of name and option, when the names differ
        (V(ssl_usage_sample_seconds) with those of V(sample_seconds)).
    type: dict
    default: {}
  prefix:
    description:
      - Put before each name in the messages.
    type: str
    default: rdsca_
"""

EXAMPLES = r"""
---
- name: Resolve the numbers
  ansible.builtin.set_fact:
    numbers: >-
      {{ {'max_concurrent': rdsca_max_concurrent | default(none)}
         | rdsca.rotation.number_settings({'max_concurrent': 5}) }}

- name: Refuse what cannot work
  ansible.builtin.assert:
    that: numbers.problems | length == 0
    fail_msg: "{{ numbers.problems | join('; ') }}"
"""

RETURN = r"""
_value:
  description:
    - V(values), the settings as numbers (an invalid one as given), and V(problems), one sentence per
      invalid setting (empty when every setting is valid).
  type: dict
"""

from ansible.errors import AnsibleFilterError

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def number_settings(raw, defaults, rules=None, prefix="rdsca_"):
    """The numeric settings resolved and checked: ``{"values": ..., "problems": [...]}``."""
    from ansible_collections.rdsca.rotation.plugins.module_utils.numbers import RULES
    from ansible_collections.rdsca.rotation.plugins.module_utils.numbers import resolve_settings
    if not isinstance(raw, dict) or not isinstance(defaults, dict):
        raise AnsibleFilterError("rdsca.rotation.number_settings needs a dict of settings and a dict of defaults")
    rules = dict(rules or {})
    unknown = [name for name in defaults if rules.get(name, name) not in RULES]
    if unknown:
        raise AnsibleFilterError("rdsca.rotation.number_settings: no rule for %s" % ", ".join(sorted(unknown)))
    return resolve_settings(dict(raw), dict(defaults), rules, prefix)


class FilterModule(object):
    """The rdsca.rotation.number_settings filter."""

    def filters(self):
        return {"number_settings": number_settings}
