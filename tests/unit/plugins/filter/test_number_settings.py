"""The number_settings filter the playbooks use to resolve their numeric rdsca_* settings."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rdsca.rotation.plugins.filter.number_settings import FilterModule

number_settings = FilterModule().filters()["number_settings"]
DEFAULTS = {"max_concurrent": 5, "wait_timeout": 3600, "poll_interval": 15}


def test_integers_from_json_are_not_replaced_by_the_defaults():
    result = number_settings({"max_concurrent": 0, "wait_timeout": 0}, DEFAULTS)
    assert result["problems"] == ["rdsca_max_concurrent must be 1 or more, got 0",
                                  "rdsca_wait_timeout must be more than 0, got 0"]


def test_nan_poll_interval_is_refused():
    result = number_settings({"poll_interval": "nan"}, DEFAULTS)
    assert result["problems"] == ["rdsca_poll_interval must be a finite number, got nan"]


def test_a_setting_without_a_rule_is_a_playbook_bug():
    with pytest.raises(AnsibleFilterError, match="no rule for colour"):
        number_settings({}, {"colour": 1})
