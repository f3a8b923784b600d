"""Importing the filter files is cheap: no helper of the collection, no TLS or AWS library at module level.

ansible-core (2.19, Jinja2Loader.get_with_context) resolves one collection filter such as
rdsca.rotation.ca_trust_stores by importing EVERY file of plugins/filter/ (pkgutil.iter_modules + import), and it
does so in each forked worker, i.e. for every task on every host that uses a filter of the collection. So each
filter file imports its helpers (plugin_utils, module_utils) inside the filter function that needs them.

The check runs in a fresh interpreter (sys.modules of this test process already holds everything), with ansible's
collection finder installed as ansible-core installs it, and imports the package exactly as the loader does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import ansible

from ansible_collections.rdsca.rotation.plugins.filter import ca_trust_anchors

# The directory that holds ansible_collections/rdsca/rotation (.build/collections under plain pytest, the
# ansible-test copy's root under ansible-test units).
COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(ca_trust_anchors.__file__), *[os.pardir] * 5))
PACKAGE = "ansible_collections.rdsca.rotation.plugins.filter"
HEAVY = ("ansible_collections.rdsca.rotation.plugins.plugin_utils", "ansible_collections.rdsca.rotation.plugins.module_utils",
         "ssl", "cryptography", "psycopg2", "pymysql", "botocore", "boto3")

SCRIPT = r"""
import importlib, json, pkgutil, sys

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

_AnsibleCollectionFinder(paths=[sys.argv[1]], scan_sys_paths=False)._install()
# What a worker has loaded anyway before it looks for a filter: ansible's errors and converters.
import ansible.errors, ansible.module_utils.common.text.converters, ansible.module_utils.parsing.convert_bool

package = importlib.import_module(sys.argv[2])
before = set(sys.modules)
loaded = []
for dummy, name, ispkg in pkgutil.iter_modules(package.__path__, prefix=package.__name__ + "."):
    if not ispkg:
        module = importlib.import_module(name)
        loaded.append((name, sorted(module.FilterModule().filters())))
print(json.dumps({"path": list(package.__path__), "loaded": loaded, "new": sorted(set(sys.modules) - before)}))
"""


def _heavy(name):
    return any(name == prefix or name.startswith(prefix + ".") for prefix in HEAVY)


def test_importing_every_filter_file_as_ansible_core_does_loads_no_helper_and_no_heavy_library():
    # ansible itself from where this process has it (ansible-test units puts it on PYTHONPATH, plain pytest in the venv).
    path = [os.path.dirname(os.path.dirname(ansible.__file__))] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=os.pathsep.join(path))
    done = subprocess.run([sys.executable, "-c", SCRIPT, COLLECTIONS, PACKAGE], capture_output=True, text=True, env=env,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    here = os.path.realpath(os.path.dirname(ca_trust_anchors.__file__))
    assert [os.path.realpath(path) for path in result["path"]] == [here]
    files = sorted(name[:-3] for name in os.listdir(here) if name.endswith(".py") and name != "__init__.py")
    loaded = dict(result["loaded"])
    assert sorted(name.rsplit(".", 1)[1] for name in loaded) == files
    assert all(loaded.values()), "a filter file without filters: %s" % [name for name, found in loaded.items() if not found]
    heavy = [name for name in result["new"] if _heavy(name)]
    assert not heavy, "importing the filter files loaded %s" % ", ".join(heavy)
    # Only the filter files themselves are new (the rest of what they need is stdlib that ansible has loaded already).
    assert [name for name in result["new"] if name.startswith("ansible_collections.")] == sorted(loaded)
