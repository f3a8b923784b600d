"""The simulator stands alone (issue 16): it imports nothing from the collection, and the demo runner is not part of it.

The simulator models AWS; a simulator that imported the collection's knowledge of RDS could only agree with it.
"""

from __future__ import annotations

import ast
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIMULATOR = os.path.join(REPO, "tests", "simulator")


def _imports(path: str) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), filename=path)
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            names.append(str(node.args[0].value))
    return names


def test_simulator_imports_nothing_from_the_collection():
    offending = {}
    for name in sorted(os.listdir(SIMULATOR)):
        if not name.endswith(".py"):
            continue
        path = os.path.join(SIMULATOR, name)
        bad = [m for m in _imports(path) if re.match(r"(plugins|ansible_collections)(\.|$)", m)]
        with open(path, encoding="utf-8") as handle:
            # No sys.path games that would reach plugins/ either.
            if re.search(r"sys\.path.*plugins|['\"]plugins['\"]", handle.read()):
                bad.append("a path to plugins/")
        if bad:
            offending[name] = bad
    assert not offending, offending


def test_demo_runner_lives_outside_the_simulator():
    assert not os.path.exists(os.path.join(SIMULATOR, "demo.py"))
    assert os.path.exists(os.path.join(REPO, "scripts", "demo.py"))
    with open(os.path.join(REPO, "Makefile"), encoding="utf-8") as handle:
        makefile = handle.read()
    demo_recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert demo_recipe and "scripts/demo.py" in demo_recipe.group(1), "make demo must run scripts/demo.py"
