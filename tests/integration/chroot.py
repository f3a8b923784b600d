"""A real Debian bookworm client host for integration tests: a debootstrap root reached with community.general.chroot.

The root is built once with ``debootstrap --variant=minbase`` plus the packages a test
needs (:data:`PACKAGES`), from the Debian mirror the machine's own apt sources use, and
kept as a tar under ``.build/chroots/`` named after a key of everything that shapes it
(suite, variant, packages, mirror, :data:`RECIPE_VERSION`), so later runs extract it in a
second instead of building it again. Each test module gets a fresh copy with ``/proc``
mounted (the JVM needs it), removed afterwards.

Needs root, ``debootstrap`` and the mirror; :func:`unavailable_reason` says what is missing
so that tests skip with a reason instead of failing obscurely.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from typing import Iterator

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE_DIR = os.path.join(REPO, ".build", "chroots")

SUITE = "bookworm"
VARIANT = "minbase"
# python3: Ansible modules; ca-certificates: the system trust store under test;
# default-jre-headless: keytool for the Java keystore tests (also pulls ca-certificates-java,
# whose update-ca-certificates hook keeps the JDK's cacerts in step with the system store).
PACKAGES = ("python3", "ca-certificates", "default-jre-headless")
# Bump when the way the root is built changes, so that cached roots are rebuilt.
RECIPE_VERSION = 1
BUILD_TIMEOUT = 1200


def _sources_files() -> list[str]:
    return sorted(glob.glob("/etc/apt/sources.list") + glob.glob("/etc/apt/sources.list.d/*.list")
                  + glob.glob("/etc/apt/sources.list.d/*.sources"))


def debian_mirror() -> str | None:
    """The Debian archive URL this machine's apt uses (``RDSCA_DEBIAN_MIRROR`` overrides it).

    Reads one-line ``deb URL suite components`` entries and deb822 ``.sources`` stanzas,
    preferring an entry for a plain suite (``bookworm``, not ``bookworm-security``).
    """
    override = os.environ.get("RDSCA_DEBIAN_MIRROR")
    if override:
        return override.rstrip("/")
    candidates: list[tuple[int, str]] = []
    for path in _sources_files():
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            continue
        if path.endswith(".sources"):
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                for line in stanza.splitlines():
                    if line.strip().startswith("#") or ":" not in line:
                        continue
                    key, value = line.split(":", 1)
                    fields[key.strip().lower()] = value.strip()
                if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
                    continue
                for uri in fields.get("uris", "").split():
                    for suite in fields.get("suites", "").split():
                        candidates.append((_rank(uri, suite), uri))
        else:
            for line in text.splitlines():
                line = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
                if len(line) >= 3 and line[0] == "deb":
                    candidates.append((_rank(line[1], line[2]), line[1]))
    candidates = [c for c in candidates if c[0] < 9]
    return min(candidates)[1].rstrip("/") if candidates else None


def _rank(uri: str, suite: str) -> int:
    """Lower is better: the main archive for a plain suite; security and third-party archives never."""
    if "security" in uri or "security" in suite or not uri.startswith(("http://", "https://")):
        return 9
    if not uri.rstrip("/").endswith("/debian"):
        return 9
    return 0 if "-" not in suite else 1


def cache_key(mirror: str) -> str:
    recipe = {"suite": SUITE, "variant": VARIANT, "packages": sorted(PACKAGES), "mirror": mirror,
              "version": RECIPE_VERSION}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def unavailable_reason() -> str | None:
    """Why a chroot target cannot be had here, or None."""
    if os.geteuid() != 0:
        return "chroot targets need root"
    if shutil.which("chroot") is None:
        return "chroot(8) not found"
    mirror = debian_mirror()
    if mirror is None:
        return "no Debian mirror in /etc/apt/sources.list* (set RDSCA_DEBIAN_MIRROR)"
    if not os.path.exists(cached_tar(mirror)) and shutil.which("debootstrap") is None:
        return "debootstrap is not installed (apt-get install debootstrap) and no cached root exists"
    return None


def cached_tar(mirror: str) -> str:
    return os.path.join(CACHE_DIR, "%s-%s-%s.tar" % (SUITE, VARIANT, cache_key(mirror)))


def ensure_root_tar(log=print) -> str:
    """The cached root tar, built first when missing (one builder at a time, others wait)."""
    mirror = debian_mirror()
    if mirror is None:
        raise RuntimeError("no Debian mirror found in the apt sources")
    tar = cached_tar(mirror)
    os.makedirs(CACHE_DIR, exist_ok=True)
    with open(os.path.join(CACHE_DIR, ".lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(tar):
            return tar
        build = tempfile.mkdtemp(prefix="build-", dir=CACHE_DIR)
        root = os.path.join(build, "root")
        started = time.monotonic()
        log("building the %s %s root from %s with %s (cached afterwards as %s)"
            % (SUITE, VARIANT, mirror, ", ".join(PACKAGES), os.path.relpath(tar, REPO)))
        try:
            proc = subprocess.run(["debootstrap", "--variant=" + VARIANT, "--include=" + ",".join(PACKAGES), SUITE,
                                   root, mirror], capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
            if proc.returncode != 0:
                raise RuntimeError("debootstrap failed (rc=%d): %s" % (proc.returncode, (proc.stdout + proc.stderr)[-3000:]))
            # Downloaded packages are not needed in the root, and make every copy larger.
            for deb in glob.glob(os.path.join(root, "var/cache/apt/archives/*.deb")):
                os.remove(deb)
            subprocess.run(["tar", "-C", root, "-cf", tar + ".partial", "."], check=True, timeout=600)
            os.replace(tar + ".partial", tar)
        finally:
            _remove_tree(build)
        log("built %s in %.0fs" % (os.path.relpath(tar, REPO), time.monotonic() - started))
        return tar


def _remove_tree(path: str) -> None:
    proc_dir = os.path.join(path, "root", "proc")
    if os.path.ismount(proc_dir):
        subprocess.run(["umount", "-l", proc_dir], check=False)
    if os.path.ismount(proc_dir):  # never walk into a mounted /proc
        return
    shutil.rmtree(path, ignore_errors=True)


def _remove_stale_runs() -> None:
    """Copies left by test sessions that were killed (their pid is gone)."""
    for work in glob.glob(os.path.join(CACHE_DIR, "run-*")):
        try:
            with open(os.path.join(work, "pid"), encoding="utf-8") as handle:
                pid = int(handle.read().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            _remove_tree(work)


class Chroot:
    """A fresh copy of the cached root, with helpers to look inside it."""

    def __init__(self, root: str) -> None:
        self.root = root

    def path(self, inside: str) -> str:
        """The host path of a path inside the chroot."""
        return os.path.join(self.root, inside.lstrip("/"))

    def run(self, *argv: str, check: bool = True, input_text: str | None = None, timeout: int = 120,
            user: str | None = None) -> subprocess.CompletedProcess:
        """Run a command in the chroot, as root or (``user``) as that unprivileged user of the chroot."""
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
               "HOME": "/home/%s" % user if user else "/root"}
        # chroot(8) looks the user up inside the new root, and drops every privilege before running argv.
        userspec = ["--userspec=%s:%s" % (user, user)] if user else []
        proc = subprocess.run(["chroot", *userspec, self.root, *argv], capture_output=True, text=True, input=input_text,
                              env=env, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("in the chroot, %s failed (rc=%d): %s%s"
                                 % (" ".join(argv), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def read(self, inside: str) -> str:
        with open(self.path(inside), encoding="utf-8") as handle:
            return handle.read()

    def write(self, inside: str, content: str, mode: int = 0o644) -> None:
        target = self.path(inside)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(target, mode)

    def listdir(self, inside: str) -> list[str]:
        target = self.path(inside)
        return sorted(os.listdir(target)) if os.path.isdir(target) else []

    def inventory(self, directory: str, group: str = "rds_clients", name: str = "bookworm") -> str:
        """An inventory file with this chroot as the only host of ``group``."""
        path = os.path.join(directory, "inventory.ini")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("[%s]\n%s ansible_host=%s ansible_connection=community.general.chroot "
                         "ansible_python_interpreter=/usr/bin/python3\n" % (group, name, self.root))
        return path


@contextmanager
def fresh_chroot(log=print) -> Iterator[Chroot]:
    """A throw-away copy of the cached bookworm root, /proc mounted."""
    tar = ensure_root_tar(log)
    _remove_stale_runs()
    work = tempfile.mkdtemp(prefix="run-", dir=CACHE_DIR)
    with open(os.path.join(work, "pid"), "w", encoding="utf-8") as handle:
        handle.write(str(os.getpid()))
    root = os.path.join(work, "root")
    os.makedirs(root)
    try:
        subprocess.run(["tar", "-C", root, "-xf", tar], check=True, timeout=600)
        subprocess.run(["mount", "-t", "proc", "proc", os.path.join(root, "proc")], check=True)
        yield Chroot(root)
    finally:
        _remove_tree(work)
