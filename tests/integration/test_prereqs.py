"""A newcomer's first run (issue 19): `make demo` and `make test` check the system packages FIRST, with one
script (scripts/prereqs.sh, also what .ci/run installs with), and say exactly what to install instead of
dying after the venv build with a traceback (or skipping suites quietly).

Run with a PATH that holds only a shell, `id` and Python (so openssl, keytool and debootstrap are
"missing"), and RDSCA_PREREQS_INSTALL=0 (this machine runs the tests as root: nothing is installed)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "scripts", "prereqs.sh")


@pytest.fixture
def bare_path(tmp_path):
    """A PATH without openssl, keytool, debootstrap (PostgreSQL and MariaDB are found outside PATH, as the
    simulator finds them)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("bash", "id"):
        found = shutil.which(tool)
        if found is None:
            pytest.skip("%s is not installed" % tool)
        os.symlink(found, bindir / tool)
    os.symlink(sys.executable, bindir / "python3")
    return str(bindir)


def _env(path: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("RDSCA_")}
    env.update(PATH=path, RDSCA_PREREQS_INSTALL="0", LC_ALL="C")
    return env


def test_the_script_names_every_missing_package_and_fails(bare_path, tmp_path):
    proc = subprocess.run(["bash", SCRIPT, "test"], capture_output=True, text=True, cwd=REPO, check=False, timeout=60,
                          env=dict(_env(bare_path), VENV=str(tmp_path / "no-venv")))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (install,) = [line.strip() for line in proc.stderr.splitlines() if "apt-get install" in line]
    packages = install.split("--no-install-recommends", 1)[1].split()
    assert {"openssl", "debootstrap", "default-jre-headless", "chromium"} <= set(packages), install
    assert "MISSING system packages" in proc.stderr and "keytool" in proc.stderr
    # The demo needs no debootstrap nor JRE.
    proc = subprocess.run(["bash", SCRIPT, "demo"], capture_output=True, text=True, cwd=REPO, check=False, timeout=60,
                          env=dict(_env(bare_path), VENV=str(tmp_path / "no-venv")))
    assert proc.returncode == 1
    (install,) = [line.strip() for line in proc.stderr.splitlines() if "apt-get install" in line]
    assert "openssl" in install and "debootstrap" not in install and "default-jre-headless" not in install
    assert "chromium" not in install


def test_the_script_passes_when_everything_is_there():
    proc = subprocess.run(["bash", SCRIPT, "test"], capture_output=True, text=True, cwd=REPO, check=False, timeout=60,
                          env=dict(os.environ, RDSCA_PREREQS_INSTALL="0", VENV=os.path.join(REPO, ".venv")))
    if proc.returncode != 0:
        pytest.skip("this machine lacks system packages the suites need:\n" + proc.stderr)
    assert "system packages present" in proc.stdout


@pytest.mark.parametrize("target", ["demo", "test"])
def test_make_checks_the_system_packages_before_building_the_venv(bare_path, tmp_path, target):
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    venv = tmp_path / "venv"
    proc = subprocess.run([make, "-C", REPO, target, "VENV=%s" % venv, "PYTHON=python3"], capture_output=True,
                          text=True, check=False, timeout=120, env=_env(bare_path))
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "MISSING system packages; nothing was built" in proc.stderr, proc.stdout + proc.stderr
    assert "openssl" in proc.stderr
    assert not venv.exists(), "the venv build started before the check"


def test_the_database_servers_the_demo_needs_are_checked_where_the_simulator_looks(bare_path, tmp_path):
    """Issue 19's first run: `make demo` died after the venv build with a traceback because mariadb-server was
    missing. The servers are found outside PATH (/usr/sbin, /usr/lib/postgresql/N/bin), so the test hides those
    directories in a private mount namespace (this process and the rest of the machine keep them)."""
    unshare, mount = shutil.which("unshare"), shutil.which("mount")
    if os.geteuid() != 0 or unshare is None or mount is None:
        pytest.skip("needs root and unshare (a private mount namespace) to hide the server binaries")
    empty = tmp_path / "empty"
    empty.mkdir()
    hidden = [d for d in ["/usr/sbin", "/usr/libexec", "/usr/local/sbin"] + sorted(glob.glob("/usr/lib/postgresql/*/bin"))
              if os.path.isdir(d)]
    mounts = "".join("%s --bind %s %s && " % (mount, empty, d) for d in hidden)
    proc = subprocess.run([unshare, "-m", "--propagation", "private", "/bin/bash", "-c",
                           mounts + "exec /bin/bash %s demo" % SCRIPT],
                          capture_output=True, text=True, cwd=REPO, check=False, timeout=60,
                          env=dict(_env(bare_path), VENV=str(tmp_path / "no-venv")))
    if "mount" in proc.stderr and "permission denied" in proc.stderr.lower():
        pytest.skip("mount namespaces are not allowed here: " + proc.stderr[-300:])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (install,) = [line.strip() for line in proc.stderr.splitlines() if "apt-get install" in line]
    assert {"mariadb-server", "postgresql"} <= set(install.split()), install
    assert "MariaDB server binaries (mariadbd, mariadb-install-db)" in proc.stderr


def test_ci_installs_from_the_same_list():
    with open(os.path.join(REPO, ".ci", "run"), encoding="utf-8") as handle:
        ci = [line for line in handle.read().splitlines() if not line.lstrip().startswith("#")]
    assert "scripts/prereqs.sh ci" in ci and not [line for line in ci if "apt-get" in line], ci
    with open(os.path.join(REPO, "Makefile"), encoding="utf-8") as handle:
        makefile = handle.read()
    assert "scripts/prereqs.sh demo" in makefile and "scripts/prereqs.sh test" in makefile
