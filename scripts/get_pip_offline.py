#!/usr/bin/env python
# Copyright: rdsca.rotation contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip.py bootstrap script that ansible-test downloads.

Why this exists: whenever ansible-test creates a virtual environment (``--venv``
delegation, every sanity test's private venv) it creates it ``--without-pip`` and
then bootstraps pip by running ``~/.ansible/test/cache/get_pip_<X_Y>.py``. When that
file is missing it downloads it from ci-files.testing.ansible.com, which is not
reachable here (only package registries are). ``scripts/ansible-test.sh`` copies
this file to that cache path, so ansible-test finds it "already cached" and runs it.

How ansible-test runs it (ansible_test/_util/target/setup/requirements.py and
quiet_pip.py): with the new venv's interpreter, via ``runpy`` as ``__main__``, with
arguments like ``--disable-pip-version-check pip==24.2 --no-setuptools --no-wheel``.
The real get-pip.py treats them as ``pip install --upgrade --force-reinstall`` arguments
plus its own ``--no-setuptools``/``--no-wheel`` switches; this script does the same
using the pip wheel that ships with the interpreter's ``ensurepip`` (no download of
pip itself is needed to *run* pip; the requested pip version comes from the package
index that pip is configured for, normally PyPI).

When no bundled pip wheel can be found it falls back to ``python -m ensurepip`` and
then ``python -m pip``.
"""

from __future__ import annotations

import glob
import importlib
import importlib.util
import os
import subprocess
import sys

# scripts/ansible-test.sh looks for this marker to tell its own copy from a real get-pip.py.
MARKER = 'rdsca-rotation-offline-get-pip'


def log(message):
    """Print a progress message on stderr, like get-pip.py does."""
    sys.stderr.write('[%s] %s\n' % (MARKER, message))
    sys.stderr.flush()


def _version_key(path):
    """Sort key for pip-X.Y.Z-*.whl file names (numeric, so 24.10 sorts after 24.9)."""
    version = os.path.basename(path).split('-')[1]
    return [int(part) if part.isdigit() else 0 for part in version.split('.')]


def bundled_pip_wheel():
    """Return the path of the pip wheel bundled with this interpreter's ensurepip, or None."""
    directories = []

    try:
        import ensurepip  # pylint: disable=import-outside-toplevel
    except ImportError:  # some distributions remove ensurepip
        ensurepip = None

    if ensurepip is not None:
        # Upstream CPython keeps the wheels next to ensurepip.
        directories.append(os.path.join(os.path.dirname(ensurepip.__file__), '_bundled'))

        # Debian/Ubuntu patch ensurepip to use a shared wheel directory instead.
        wheel_dir = getattr(ensurepip, '_WHEEL_PKG_DIR', None)
        if wheel_dir:
            directories.append(wheel_dir)

    directories.append('/usr/share/python-wheels')

    # The interpreter's own wheel comes first; within a directory take the newest pip.
    for directory in directories:
        wheels = [path for path in glob.glob(os.path.join(directory, 'pip-*.whl')) if os.path.isfile(path)]

        if wheels:
            return max(wheels, key=_version_key)

    return None


def pip_command():
    """Return (command prefix that runs pip, packages that ensurepip added as a side effect)."""
    wheel = bundled_pip_wheel()

    if wheel:
        # A pip wheel is importable as a zip; pip documents running it as "python pip.whl/pip".
        log('running pip from the ensurepip wheel %s' % wheel)
        return [sys.executable, os.path.join(wheel, 'pip')], []

    log('no bundled pip wheel found, running "%s -m ensurepip"' % sys.executable)
    had_setuptools = importlib.util.find_spec('setuptools') is not None
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])

    # ensurepip of Python < 3.12 also installs setuptools.
    importlib.invalidate_caches()
    extra = [] if had_setuptools or importlib.util.find_spec('setuptools') is None else ['setuptools']

    return [sys.executable, '-m', 'pip'], extra


def main(argv):
    """Install pip (and whatever else was asked for) like get-pip.py would."""
    args = list(argv)

    # get-pip.py's own switches; everything else goes to "pip install".
    want_setuptools = '--no-setuptools' not in args
    want_wheel = '--no-wheel' not in args
    args = [arg for arg in args if arg not in ('--no-setuptools', '--no-wheel')]

    if want_setuptools:
        args.append('setuptools')

    if want_wheel:
        args.append('wheel')

    pip, ensurepip_extra = pip_command()
    command = pip + ['install', '--upgrade', '--force-reinstall'] + args

    log('bootstrapping pip for %s: %s' % (sys.executable, ' '.join(command[1:])))

    status = subprocess.call(command)

    if status == 0 and 'setuptools' in ensurepip_extra and not want_setuptools:
        # ansible-test asked for --no-setuptools: leave the venv as get-pip.py would.
        status = subprocess.call([sys.executable, '-m', 'pip', 'uninstall', '--yes', '--quiet', 'setuptools'])

    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
