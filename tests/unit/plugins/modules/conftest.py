"""Run a module's main() in-process and catch what it would print (shared by the module tests)."""

from __future__ import absolute_import, division, print_function

import pytest

from ansible.module_utils.testing import patch_module_args


class ModuleExit(Exception):
    """main() ended: kind is "exit" or "fail", result what it returned (warnings included)."""

    def __init__(self, kind, result):
        super(ModuleExit, self).__init__(kind)
        self.kind = kind
        self.result = result


@pytest.fixture
def module_runner(monkeypatch):
    """module_runner(plugin) -> run(**args) calling plugin.main() with those arguments."""

    def factory(plugin):
        warnings = []

        def exit_json(self, **kwargs):
            raise ModuleExit("exit", dict(kwargs, warnings=list(warnings)))

        def fail_json(self, **kwargs):
            raise ModuleExit("fail", kwargs)

        monkeypatch.setattr(plugin.AnsibleModule, "exit_json", exit_json)
        monkeypatch.setattr(plugin.AnsibleModule, "fail_json", fail_json)
        monkeypatch.setattr(plugin.AnsibleModule, "warn", lambda self, text: warnings.append(text))

        def run(**args):
            with patch_module_args(args):
                with pytest.raises(ModuleExit) as caught:
                    plugin.main()
            return caught.value

        return run

    return factory
