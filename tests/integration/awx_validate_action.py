"""Test-only action plugin: a real awx.awx task, validated by the real module's argument spec, without an AWX server.

tests/integration/test_awx_config.py installs this file as the action plugin of every awx.awx module in a copy of
the awx.awx collection whose modules and module_utils are links to the installed collection's. ansible-playbook
then runs extensions/awx/configure.yml for real (variables, loops, conditions, lookups, omit, no_log), and for each
awx.awx task this plugin:

- imports the real module file and runs its main() until it constructs its ControllerAPIModule, capturing the
  argument_spec and the other AnsibleModule arguments it passes (mutually_exclusive, required_if...);
- validates the task's final arguments with ansible-core's ModuleArgumentSpecValidator (what AnsibleModule runs):
  unknown options, types, choices, required options and the module's own constraints;
- appends {"module", "task", "args", "errors"} to the JSON-lines file named by RDSCA_AWX_RECORD, and fails the task
  when there are errors. Nothing is sent anywhere.
"""

from __future__ import annotations

import importlib
import json
import os

from ansible.module_utils.common.arg_spec import ModuleArgumentSpecValidator
from ansible.plugins.action import ActionBase

CONSTRAINTS = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")


class _Captured(Exception):
    pass


def module_spec(name: str) -> tuple[dict, dict]:
    """(argument_spec including the controller connection options, AnsibleModule constraints) of awx.awx.<name>."""
    module = importlib.import_module("ansible_collections.awx.awx.plugins.modules." + name)
    api = importlib.import_module("ansible_collections.awx.awx.plugins.module_utils.controller_api")
    captured: dict = {}

    class Capture:  # pylint: disable=too-few-public-methods
        def __init__(self, argument_spec=None, **kwargs):
            captured["spec"] = argument_spec
            captured["kwargs"] = kwargs
            raise _Captured()

    real = module.ControllerAPIModule
    module.ControllerAPIModule = Capture
    try:
        module.main()
    except _Captured:
        pass
    finally:
        module.ControllerAPIModule = real
    if "spec" not in captured:
        raise RuntimeError("awx.awx.%s did not construct its ControllerAPIModule" % name)
    spec = dict(api.ControllerModule.AUTH_ARGSPEC)
    spec.update(captured["spec"])
    return spec, dict((k, v) for k, v in captured["kwargs"].items() if k in CONSTRAINTS)


class ActionModule(ActionBase):
    """Validate, record, change nothing."""

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        name = self._task.action.split(".")[-1]
        spec, constraints = module_spec(name)
        validated = ModuleArgumentSpecValidator(spec, **constraints).validate(dict(self._task.args))
        errors = [str(error) for error in validated.errors]
        with open(os.environ["RDSCA_AWX_RECORD"], "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"module": name, "task": self._task.get_name(), "args": self._task.args,
                                     "errors": errors}, default=str) + "\n")
        result.update(changed=True, validated=not errors)
        if errors:
            result.update(failed=True, msg="awx.awx.%s: %s" % (name, "; ".join(errors)))
        return result
