# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""exit_json for large results: Ansible's no_log scrubbing, without its full copy when nothing needs scrubbing (issue 20).

Why we do our own thing: ``AnsibleModule.exit_json`` passes the whole result through
``ansible.module_utils.common.parameters.remove_values``, which walks and copies every value
(``tag_copy`` per container) and replaces every no_log value in every string. It does so even when
no no_log value occurs anywhere in the result; and there is nearly always one (amazon.aws'
``secret_key`` is no_log and falls back to ``AWS_SECRET_ACCESS_KEY``). For rds_ca_facts' 5,000
database records (5.7 MiB) that walk is about a third of a second on the critical path.

:func:`scrub` returns exactly what ``remove_values`` returns, more cheaply:

* ``remove_values`` on a dict is ``remove_values`` on each of its values (the keys are kept as they
  are), so each top-level value is decided on its own.
* A value whose JSON text (``ensure_ascii=False``) contains none of the no_log strings (each as JSON
  escapes it) holds no string, and no number, that contains one: JSON escapes character by character,
  so a string containing a no_log value encodes to a text containing the encoded value, and a number
  is written as ``str()`` writes it. ``remove_values`` would return an equal copy of such a value: it
  is kept as it is.
* Every other value (one that mentions a no_log string, or that JSON cannot encode exactly: NaN,
  infinity, sets, datetimes, anything unknown) goes through ``remove_values`` itself, unchanged. So
  do empty no_log strings, non-dict results and anything else out of the ordinary.

The check can only err towards scrubbing (a key or ``true`` that looks like a no_log value sends that
value through ``remove_values``), never towards leaking. tests/unit/plugins/module_utils/test_result_scrub.py
proves both: a secret in a record is masked, and the output is byte-for-byte the standard one.
"""

import contextlib
import json

from ansible.module_utils import basic
from ansible.module_utils.common import parameters
from ansible.module_utils.common.text.converters import to_native


def _needles(no_log_strings):
    """The no_log strings as they appear inside a JSON text, or None when the fast check does not apply."""
    needles = []
    for value in no_log_strings:
        native = to_native(value, errors="surrogate_or_strict")
        if not isinstance(native, str) or not native:
            return None
        needles.append(json.dumps(native, ensure_ascii=False)[1:-1])
    return needles


def mentions(value, needles):
    """True unless it is certain that no string or number inside ``value`` contains one of ``needles``."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return True
    return any(needle in text for needle in needles)


def scrub(value, no_log_strings):
    """What ``remove_values(value, no_log_strings)`` returns, without copying the values that need nothing removed."""
    needles = _needles(no_log_strings)
    # Only a plain dict is split by key (remove_values copies it into a plain dict); anything else: the standard walk.
    if needles is None or type(value) is not dict:  # pylint: disable=unidiomatic-typecheck
        return parameters.remove_values(value, no_log_strings)
    return dict((key, parameters.remove_values(item, no_log_strings) if mentions(item, needles) else item)
                for key, item in value.items())


@contextlib.contextmanager
def fast_scrub():
    """While inside, AnsibleModule's exit_json/fail_json scrub results with :func:`scrub` (then the standard function again)."""
    original = basic.remove_values
    if original is not parameters.remove_values:  # someone else replaced it: leave theirs alone
        yield
        return
    basic.remove_values = scrub
    try:
        yield
    finally:
        basic.remove_values = original


def exit_json(module, **result):
    """``module.exit_json(**result)`` (an AnsibleModule or AnsibleAWSModule), scrubbed by :func:`scrub`."""
    with fast_scrub():
        module.exit_json(**result)
