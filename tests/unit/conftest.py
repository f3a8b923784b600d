"""Make `ansible_collections.rdsca.rotation` importable under plain pytest.

`ansible-test units` runs from a copy of the collection at
.../ansible_collections/rdsca/rotation, where the import already resolves:
nothing is done there. Under plain `pytest tests/unit` (from the repo root,
which is the collection root but is not at such a path) the symlink farm
.build/collections/ansible_collections/rdsca/rotation -> repo (`make
collection-link`) is created if missing and put first on sys.path.
"""

from __future__ import annotations

import importlib.util
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS_PATH = os.path.join(REPO, ".build", "collections")


def _importable() -> bool:
    try:
        return importlib.util.find_spec("ansible_collections.rdsca.rotation") is not None
    except ImportError:
        return False


def _link_collection() -> None:
    link = os.path.join(COLLECTIONS_PATH, "ansible_collections", "rdsca", "rotation")
    if not os.path.lexists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        try:
            os.symlink(os.path.relpath(REPO, os.path.dirname(link)), link)
        except FileExistsError:  # created concurrently (pytest-xdist workers)
            pass
    if COLLECTIONS_PATH not in sys.path:
        sys.path.insert(0, COLLECTIONS_PATH)
    # ansible_collections is a namespace package: drop a cached __path__ computed without us.
    for name in [m for m in sys.modules if m == "ansible_collections" or m.startswith("ansible_collections.rdsca")]:
        if name != "ansible_collections":
            del sys.modules[name]
    namespace = sys.modules.get("ansible_collections")
    if namespace is not None and hasattr(namespace.__path__, "_recalculate"):
        namespace.__path__._recalculate()


if not _importable():
    _link_collection()
