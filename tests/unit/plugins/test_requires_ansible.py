"""requires_ansible states what is tested (issue 16): the floor of meta/runtime.yml is the ansible-core
release `make test` pins (requirements-dev.txt), and the ansible-core running the tests satisfies it.

Lowering the claim without testing that release (or moving the pin without the claim) fails here.
"""

from __future__ import annotations

import os
import re

import ansible
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def minor(version: str) -> tuple[int, int]:
    major, minor_, *_rest = (int(part) for part in re.findall(r"\d+", version))
    return major, minor_


def claimed_floor() -> str:
    with open(os.path.join(ROOT, "meta", "runtime.yml"), encoding="utf-8") as handle:
        claim = yaml.safe_load(handle)["requires_ansible"]
    match = re.fullmatch(r">=\s*(\d+\.\d+\.\d+)", claim)
    assert match, "requires_ansible %r is not a single floor (>=X.Y.Z)" % claim
    return match.group(1)


def test_the_claimed_floor_is_the_tested_release():
    with open(os.path.join(ROOT, "requirements-dev.txt"), encoding="utf-8") as handle:
        (pinned,) = re.findall(r"^ansible-core==(\S+)", handle.read(), re.MULTILINE)
    assert minor(claimed_floor()) == minor(pinned), (claimed_floor(), pinned)


def test_the_running_ansible_core_satisfies_the_claim():
    assert minor(ansible.__version__) >= minor(claimed_floor())


def test_the_execution_environment_installs_an_ansible_core_the_collection_supports():
    """Issue 19 (EE): the AWX EE definition installed ansible-core>=2.16 while requires_ansible said >=2.19.0, so an
    image could get an ansible-core the collection is not tested with."""
    with open(os.path.join(ROOT, "extensions", "awx", "execution-environment.yml"), encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)["dependencies"]["ansible_core"]["package_pip"]
    floors = re.findall(r">=\s*([\d.]+)", spec)
    assert len(floors) == 1 and minor(floors[0]) >= minor(claimed_floor()), (spec, claimed_floor())
    ceilings = re.findall(r"<\s*([\d.]+)", spec)
    assert ceilings and minor(ceilings[0]) > minor(claimed_floor()), spec
