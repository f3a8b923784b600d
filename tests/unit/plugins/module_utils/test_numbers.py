"""The shared numeric validator: every number checked the same way, from any source."""

from __future__ import annotations

import math

import pytest

from ansible_collections.rdsca.rotation.plugins.module_utils import numbers


@pytest.mark.parametrize("value", [0, "0", 0.0, "0.0", " 0 "])
def test_zero_is_refused_the_same_way_as_a_number_or_a_string(value):
    assert numbers.check_number("max_concurrent", value) == ["max_concurrent must be 1 or more, got %s" % (
        repr(value) if isinstance(value, str) else value)]
    assert numbers.check_number("wait_timeout", value)[0].startswith("wait_timeout must be more than 0")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), "nan", "inf", "-Infinity"])
def test_nan_and_infinity_are_refused(value):
    for name in ("poll_interval", "wait_timeout", "timeout", "sample_seconds"):
        (problem,) = numbers.check_number(name, value)
        assert problem.startswith(name + " must be a finite number"), problem


@pytest.mark.parametrize("value", [True, False, None, "five", "", [], {}])
def test_booleans_text_and_containers_are_not_numbers(value):
    (problem,) = numbers.check_number("max_concurrent", value)
    assert "must be a number" in problem


def test_whole_numbers_where_needed():
    assert numbers.check_number("max_concurrent", 2.5) == ["max_concurrent must be a whole number, got 2.5"]
    assert numbers.check_number("max_concurrent", "3") == []
    assert numbers.check_number("max_concurrent", 3.0) == []
    assert numbers.parse_number("3", whole=True) == (3, None)
    assert numbers.check_number("poll_interval", 0.2) == []


def test_absurd_values_are_refused():
    assert numbers.check_number("max_concurrent", 10 ** 9) == [
        "max_concurrent must be at most 500 (databases), got 1000000000"]
    assert numbers.check_number("wait_timeout", 10 ** 12)[0].startswith("wait_timeout must be at most")
    assert numbers.check_number("connect_port", 70000)[0].startswith("connect_port must be at most 65535")


def test_poll_interval_cannot_exceed_the_wait_timeout():
    problems = numbers.check_numbers({"poll_interval": 120.0, "wait_timeout": 60})
    assert problems == ["poll_interval (120.0) must not be longer than wait_timeout (60): "
                        "the wait would end long after its timeout"]
    assert numbers.check_numbers({"poll_interval": 15.0, "wait_timeout": 3600}) == []
    # An invalid value is reported once, not again as inconsistent.
    assert numbers.check_numbers({"poll_interval": float("nan"), "wait_timeout": 60}) == [
        "poll_interval must be a finite number, got nan"]


def test_check_numbers_skips_unset_and_unknown_options():
    assert numbers.check_numbers({"max_concurrent": None, "name": "x", "wait_timeout": 5}) == []


def test_resolve_settings_keeps_zero_and_uses_defaults_only_when_not_given():
    defaults = {"max_concurrent": 5, "wait_timeout": 3600, "poll_interval": 15}
    result = numbers.resolve_settings({"max_concurrent": 0, "wait_timeout": 0}, defaults, prefix="rdsca_")
    assert result["problems"] == ["rdsca_max_concurrent must be 1 or more, got 0",
                                  "rdsca_wait_timeout must be more than 0, got 0"]
    as_strings = numbers.resolve_settings({"max_concurrent": "0", "wait_timeout": "0"}, defaults, prefix="rdsca_")
    assert [p.split(",")[0] for p in as_strings["problems"]] == [p.split(",")[0] for p in result["problems"]]
    fine = numbers.resolve_settings({"max_concurrent": "3", "wait_timeout": None, "poll_interval": ""}, defaults)
    assert fine == {"values": {"max_concurrent": 3, "poll_interval": 15, "wait_timeout": 3600}, "problems": []}
    assert isinstance(fine["values"]["max_concurrent"], int)


def test_resolve_settings_uses_the_rules_of_the_module_option():
    result = numbers.resolve_settings({"ssl_usage_sample_seconds": -1}, {"ssl_usage_sample_seconds": 0},
                                      rules={"ssl_usage_sample_seconds": "sample_seconds"}, prefix="rdsca_")
    assert result["problems"] == ["rdsca_ssl_usage_sample_seconds must be 0 or more, got -1"]


def test_resolve_settings_checks_consistency_with_the_user_names():
    result = numbers.resolve_settings({"poll_interval": 600, "wait_timeout": 60},
                                      {"poll_interval": 15, "wait_timeout": 3600}, prefix="rdsca_")
    assert result["problems"] == ["rdsca_poll_interval (600) must not be longer than rdsca_wait_timeout (60): "
                                  "the wait would end long after its timeout"]
    assert math.isfinite(result["values"]["poll_interval"])
