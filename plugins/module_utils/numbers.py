# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every number the collection takes, checked the same way wherever it comes from.

One table (:data:`RULES`) says, for each numeric option, whether it is a whole number, its
lowest and highest sensible value, and its unit. The modules check their options with
:func:`check_numbers` before any AWS call; the playbooks check their ``rdsca_*`` settings with
the ``rdsca.rotation.number_settings`` filter, which parses with :func:`parse_number` and
checks with the same rules. So ``0``, ``"0"``, ``0.0`` from ``-e``, from JSON extra vars and
from an AWX survey all give the same answer, and NaN, infinity, booleans and absurd values are
refused with a sentence naming the option, instead of being replaced by a default or reaching a
sleep or a timeout.

Consistency rules (:data:`NOT_ABOVE`): an interval between two polls cannot be longer than the
time the poll waits for.
"""

import math
# typing's generics, not dict[...] or X | None: rds_ca_trust_verify runs this module on client hosts' Python.
from typing import Any, Dict, List, Optional, Tuple, Union

# name: (whole number?, lowest, lowest allowed itself?, highest, unit)
# "lowest allowed itself" False means "more than lowest" (a duration of 0 is not a duration).
RULES = {
    # rds_ca_rotate
    "max_concurrent": (True, 1, True, 500, "databases"),
    "wait_timeout": (True, 0, False, 7 * 24 * 3600, "seconds"),
    "poll_interval": (False, 0, False, 3600, "seconds"),
    "verify_timeout": (True, 0, False, 3600, "seconds"),
    "verify_grace_period": (True, 0, True, 24 * 3600, "seconds"),
    # rds_ssl_usage, rds_ca_trust_verify, rds_ca_bundle
    "timeout": (False, 0, False, 3600, "seconds"),
    "sample_seconds": (False, 0, True, 24 * 3600, "seconds"),
    "sample_interval": (False, 0, False, 3600, "seconds"),
    "connect_timeout": (False, 0, False, 3600, "seconds"),
    "max_workers": (True, 1, True, 256, "workers"),
    "probe_workers": (True, 1, True, 256, "workers"),
    "connect_port": (True, 1, True, 65535, "TCP port"),
    "probe_port": (True, 1, True, 65535, "TCP port"),
    "port": (True, 1, True, 65535, "TCP port"),
    # rds_ssl_usage: 0 is off; RDS keeps PostgreSQL logs 7 days at most, a longer window is reported incomplete
    "log_window_days": (False, 0, True, 31, "days"),
    # rds_ca_facts (and every AWS module's regions option)
    "concurrency": (True, 1, True, 1024, "threads"),
    "expiring_within_days": (True, 0, True, 36500, "days"),
}

# (shorter, longer): the first cannot exceed the second when both are set.
NOT_ABOVE = (
    ("poll_interval", "wait_timeout"),
)


def _show(value: Any) -> str:
    """A value as the user gave it: strings quoted, so that ``"0"`` and ``0`` are told apart."""
    return "%r" % (value,) if isinstance(value, str) else "%s" % (value,)


def parse_number(value: Any, whole: bool = False) -> Tuple[Optional[Union[int, float]], Optional[str]]:
    """``(number, problem)``: ``value`` (int, float or a string of one) as a number, or why it is none.

    Booleans, NaN, infinities, empty strings and text are problems (``number`` is None then).
    With ``whole``, ``5.0`` and ``"5"`` give ``5``; ``5.5`` is a problem.
    """
    if isinstance(value, bool) or value is None:
        return None, "must be a number, got %s" % _show(value)
    if isinstance(value, (int, float)):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return None, "must be a number, got %r" % (value,)
    else:
        return None, "must be a number, got a %s" % type(value).__name__
    if isinstance(number, float) and not math.isfinite(number):
        return None, "must be a finite number, got %s" % number
    if whole:
        if isinstance(number, float):
            if not number.is_integer():
                return None, "must be a whole number, got %s" % _show(value)
            number = int(number)
    return number, None


def check_number(name: str, value: Any, label: Optional[str] = None) -> List[str]:
    """Problems (sentences) with ``value`` for the option ``name`` of :data:`RULES`; ``label`` names it."""
    whole, lowest, lowest_ok, highest, unit = RULES[name]
    label = label or name
    number, problem = parse_number(value, whole)
    if problem:
        return ["%s %s" % (label, problem)]
    if lowest_ok and number < lowest:
        return ["%s must be %s or more, got %s" % (label, lowest, _show(value))]
    if not lowest_ok and number <= lowest:
        return ["%s must be more than %s, got %s" % (label, lowest, _show(value))]
    if number > highest:
        return ["%s must be at most %s (%s), got %s" % (label, highest, unit, _show(value))]
    return []


def check_numbers(params: Dict[str, Any], names: Optional[List[str]] = None, labels: Optional[Dict[str, str]] = None) -> List[str]:
    """Problems with every numeric option of ``params`` (a module's params) that is set.

    ``names``: the options to check (default: those of ``params`` in :data:`RULES`).
    ``labels``: ``{name: shown name}`` (a playbook variable, an endpoint's key).
    Also checks :data:`NOT_ABOVE` when both values are valid.
    """
    labels = labels or {}
    names = [n for n in (names or sorted(params)) if n in RULES]
    problems = []
    good = {}
    for name in names:
        value = params.get(name)
        if value is None:
            continue
        found = check_number(name, value, labels.get(name))
        problems.extend(found)
        if not found:
            good[name] = parse_number(value, RULES[name][0])[0]
    for shorter, longer in NOT_ABOVE:
        if shorter in good and longer in good and good[shorter] > good[longer]:
            problems.append("%s (%s) must not be longer than %s (%s): the wait would end long after its timeout" % (
                labels.get(shorter, shorter), _show(good[shorter]), labels.get(longer, longer), _show(good[longer])))
    return problems


def resolve_settings(raw: Dict[str, Any], defaults: Dict[str, Any], rules: Optional[Dict[str, str]] = None,
                     prefix: str = "") -> Dict[str, Any]:
    """``{"values": {...}, "problems": [...]}`` for playbook settings.

    ``raw``: ``{name: value}`` as the user gave them (None or an empty string: not given, the
    default applies; anything else, 0 included, is the user's value). ``defaults``: ``{name:
    default}``. ``rules``: ``{name: rule name in RULES}`` when they differ. ``prefix``: prepended
    to names in the messages (``rdsca_``). A value that is not valid is returned as given and
    named in ``problems``.
    """
    rules = rules or {}
    values = {}
    problems = []
    for name in sorted(defaults):
        value = raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            value = defaults[name]
        rule = rules.get(name, name)
        found = check_number(rule, value, prefix + name)
        if found:
            problems.extend(found)
            values[name] = value
        else:
            values[name] = parse_number(value, RULES[rule][0])[0]
    checked = dict((rules.get(n, n), values[n]) for n in values if not any(p.startswith(prefix + n + " ") for p in problems))
    labels = dict((rules.get(n, n), prefix + n) for n in values)
    for shorter, longer in NOT_ABOVE:
        if shorter in checked and longer in checked and checked[shorter] > checked[longer]:
            problems.append("%s (%s) must not be longer than %s (%s): the wait would end long after its timeout" % (
                labels[shorter], _show(checked[shorter]), labels[longer], _show(checked[longer])))
    return {"values": values, "problems": problems}
