"""Real local database servers with TLS, standing in for RDS instances.

The RDS API simulator can only pretend that a certificate changed; a client
only believes it when a real server presents the new certificate during a
real TLS handshake. ``LinkedPostgres`` and ``LinkedMariaDB`` run genuine
PostgreSQL / MariaDB servers on 127.0.0.1 with certificates from
``pki.LocalPKI`` so that:

* ``start()`` is an instance coming up with its CA's certificate,
* ``rotate()`` is RDS's "apply without restart" (the engine reloads its TLS
  context: SIGHUP for PostgreSQL, ``FLUSH SSL`` for MariaDB),
* ``restart()`` is an RDS reboot (same data, new server process).

Each server lives entirely in its own ``base_dir`` (data, unix socket, TLS
files, log) and listens only on loopback, so several can run at once on
different ports. When running as root (as on CI) the servers run as the
unprivileged ``postgres`` / ``mysql`` system users, because both engines
refuse to run as root (and should). Those users must be able to traverse
every ancestor of base_dir; start() adds the search bit where it is missing.
Prefer a base_dir from ``tempfile.mkdtemp()`` over pytest's ``tmp_path``:
pytest resets /tmp/pytest-of-<user> to 0700 whenever any pytest session
starts, which would cut a running server off from its own files.
"""

from __future__ import annotations

import atexit
import contextlib
import grp
import hashlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "LinkedMariaDB",
    "LinkedPostgres",
    "LinkedServer",
    "LinkedServerError",
    "free_port",
    "tools_available",
]

ADMIN_USER = "admin"
# RDS for PostgreSQL's default log_line_prefix (User Guide, "RDS for PostgreSQL database log files").
RDS_LOG_LINE_PREFIX = "%t:%r:%u@%d:[%p]:"
# AF_UNIX sun_path is 108 bytes including the terminating NUL.
_MAX_UNIX_SOCKET_PATH = 107
_LOOPBACK = "127.0.0.1"
# The client addresses a linked server accepts: every loopback address (127.0.0.2 stands for another host).
_CLIENTS = "127.0.0.0/8"


class LinkedServerError(RuntimeError):
    """A linked server failed to start, reload or stop; carries the log tail."""


# --------------------------------------------------------------------- tools


def _pg_bindir() -> Path | None:
    """Directory holding initdb/postgres, preferring the newest installed major.

    Debian keeps server binaries out of PATH (/usr/lib/postgresql/N/bin), RPM
    packages put them in /usr/bin or /usr/pgsql-N/bin; pg_config (when present)
    knows for certain, the globs cover hosts without the client dev package.
    """

    def usable(candidate: Path) -> bool:
        return all(os.access(candidate / tool, os.X_OK) for tool in ("initdb", "postgres"))

    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out and usable(Path(out)):
            return Path(out)
    candidates = [Path(p) for p in Path("/usr/lib/postgresql").glob("*/bin")]
    candidates += [Path(p) for p in Path("/usr").glob("pgsql-*/bin")]

    def version(path: Path) -> tuple[int, ...]:
        digits = re.findall(r"\d+", str(path))
        return tuple(int(d) for d in digits) or (0,)

    for candidate in sorted(candidates, key=version, reverse=True):
        if usable(candidate):
            return candidate
    initdb = shutil.which("initdb")
    if initdb and usable(Path(initdb).parent):
        return Path(initdb).parent
    return None


def _first_executable(names: tuple[str, ...], extra_dirs: tuple[str, ...]) -> Path | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return Path(found)
    for directory in extra_dirs:
        for name in names:
            candidate = Path(directory) / name
            if os.access(candidate, os.X_OK):
                return candidate
    return None


def _mariadbd() -> Path | None:
    # /usr/sbin is often missing from a non-login root PATH.
    return _first_executable(("mariadbd", "mysqld"), ("/usr/sbin", "/usr/libexec", "/usr/local/sbin"))


def _mariadb_install_db() -> Path | None:
    return _first_executable(("mariadb-install-db", "mysql_install_db"), ("/usr/bin", "/usr/local/bin"))


def _system_user_for(engine: str) -> str | None:
    """OS user the server runs as: the packaged service user when we are root."""
    if os.geteuid() != 0:
        return None
    return "postgres" if engine == "postgres" else "mysql"


# Where distributions install MariaDB's plugins (Debian/Ubuntu mariadb-server; Fedora/RHEL mariadb-server).
PLUGIN_DIRS = ("/usr/lib/mysql/plugin", "/usr/lib64/mysql/plugin", "/usr/lib64/mariadb/plugin")


def audit_plugin_available() -> tuple[bool, str]:
    """Whether the installed MariaDB ships the server_audit plugin (server_audit.so), and if not, why."""
    ok, reason = tools_available("mariadb")
    if not ok:
        return ok, reason
    for directory in PLUGIN_DIRS:
        if (Path(directory) / "server_audit.so").exists():
            return True, ""
    return False, f"the MariaDB audit plugin (server_audit.so) is not in {', '.join(PLUGIN_DIRS)}; the installed " \
                  "mariadb-server package does not ship it"


def tools_available(engine: str) -> tuple[bool, str]:
    """Whether a linked server of ``engine`` can run here, and if not, why.

    Tests call this to skip with an actionable reason instead of failing
    deep inside startup (or, worse, passing without exercising anything).
    """
    kind = _normalise_engine(engine)
    if kind == "postgres":
        if _pg_bindir() is None:
            return False, "PostgreSQL server binaries (initdb, postgres) not found; install the 'postgresql' package"
        try:
            import psycopg2  # noqa: F401  # pylint: disable=import-outside-toplevel,unused-import
        except ImportError:
            return False, "psycopg2 is not importable; install psycopg2-binary"
    else:
        if _mariadbd() is None or _mariadb_install_db() is None:
            return False, "MariaDB server binaries (mariadbd, mariadb-install-db) not found; install 'mariadb-server'"
        try:
            import pymysql  # noqa: F401  # pylint: disable=import-outside-toplevel,unused-import
        except ImportError:
            return False, "PyMySQL is not importable; install PyMySQL"
    user = _system_user_for(kind)
    if user is not None:
        try:
            pwd.getpwnam(user)
        except KeyError:
            return False, f"running as root but system user {user!r} does not exist to run the server"
    return True, "ok"


def _normalise_engine(engine: str) -> str:
    lowered = engine.lower()
    if lowered in ("postgres", "postgresql", "aurora-postgresql"):
        return "postgres"
    if lowered in ("mariadb", "mysql", "aurora-mysql"):
        return "mariadb"
    raise ValueError(f"unknown engine {engine!r}")


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for tests).

    Picked at random *below* the kernel's ephemeral range: a port from
    bind(0) is one the kernel may hand to any outgoing connection (or another
    bind(0)) as soon as a server releases it, which makes restart() on the
    same port flaky on a busy machine.
    """
    rng = secrets.SystemRandom()
    high = _ephemeral_low() - 1
    if high > 20000:
        for _attempt in range(100):
            port = rng.randint(15000, high)
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind((_LOOPBACK, port))
                except OSError:
                    continue
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_LOOPBACK, 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------ helpers


@dataclass(frozen=True)
class _RunAs:
    """The identity server processes run with."""

    name: str
    uid: int
    gid: int

    @property
    def is_other(self) -> bool:
        return self.uid != os.geteuid()

    def popen_kwargs(self) -> dict[str, Any]:
        if not self.is_other:
            return {}
        # extra_groups=[] drops root's supplementary groups as well.
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def chown(self, path: Path) -> None:
        if self.is_other:
            os.chown(path, self.uid, self.gid)


def _resolve_run_as(engine: str) -> _RunAs:
    user = _system_user_for(engine)
    if user is None:
        entry = pwd.getpwuid(os.geteuid())
        return _RunAs(entry.pw_name, entry.pw_uid, os.getegid())
    try:
        entry = pwd.getpwnam(user)
    except KeyError as exc:
        raise LinkedServerError(f"running as root but system user {user!r} does not exist") from exc
    return _RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _grant_traverse(path: Path, run_as: _RunAs) -> None:
    """Let ``run_as`` reach ``path`` by adding search (x) bits on ancestors.

    pytest's temporary directories (and many home directories) are 0700 and
    owned by root; a server running as postgres/mysql could not even open its
    data directory below them. Only the search bit is added, never read, so
    directory listings stay private.
    """
    if not run_as.is_other:
        return
    groups = {run_as.gid, *(g.gr_gid for g in grp.getgrall() if run_as.name in g.gr_mem)}
    for ancestor in [path, *path.parents]:
        st = ancestor.stat()
        if st.st_uid == run_as.uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            os.chmod(ancestor, stat.S_IMODE(st.st_mode) | bit)


def _write_owned(path: Path, data: str, mode: int, run_as: _RunAs) -> None:
    """Atomically replace ``path`` with ``data`` owned by the server user.

    Atomic so a server reloading concurrently never reads a half-written
    key; owned by the server user because PostgreSQL refuses a key file it
    does not own (or that others can read).
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if run_as.is_other:
                os.fchown(handle.fileno(), run_as.uid, run_as.gid)
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _tail(path: Path, lines: int) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _tcp_listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port.

    Reads /proc/net/tcp rather than connecting: a probe connection would show
    up in the engines' counters (MariaDB's Aborted_connects, connection logs)
    that session-inventory tests look at. Falls back to connecting elsewhere.
    """
    wanted = f"0100007F:{port:04X}"
    try:
        with open("/proc/net/tcp", encoding="ascii") as table:
            next(table, None)
            # Columns: sl local_address rem_address st ...; 0A is LISTEN.
            return any(fields[1] == wanted and fields[3] == "0A" for fields in (line.split() for line in table))
    except OSError:
        pass
    try:
        with socket.create_connection((_LOOPBACK, port), timeout=1):
            return True
    except OSError:
        return False


_RUNNING: set[LinkedServer] = set()
_RUNNING_LOCK = threading.Lock()


@atexit.register
def _stop_all_at_exit() -> None:
    """Last-resort cleanup so an aborted test run leaves no servers behind."""
    with _RUNNING_LOCK:
        servers = list(_RUNNING)
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


# ------------------------------------------------------------- base class


class LinkedServer(ABC):
    """One database server process standing in for one RDS instance.

    Not thread-safe per instance: drive a server from one thread. Distinct
    instances (own base_dir and port) are independent.
    """

    engine: str = ""
    log_name: str = "server.log"

    def __init__(
        self,
        base_dir: str | os.PathLike[str],
        port: int,
        server_name: str,
        admin_password: str,
        *,
        startup_timeout: float = 30.0,
        force_ssl: bool = False,
    ) -> None:
        if not admin_password:
            raise ValueError("admin_password must not be empty")
        self.base_dir = Path(base_dir).absolute()
        self.port = int(port)
        self.host = _LOOPBACK
        self.server_name = server_name
        self.admin_user = ADMIN_USER
        self._admin_password = admin_password
        self.startup_timeout = startup_timeout
        # Mirrors the instance's rds.force_ssl / require_secure_transport: plain TCP logins are refused.
        self.force_ssl = force_ssl
        self.data_dir = self.base_dir / "data"
        self.run_dir = self.base_dir / "run"
        self.tls_dir = self.base_dir / "tls"
        # The server's own temporary directory: servers of several test runs sharing /tmp collide on names.
        self.tmp_dir = self.base_dir / "tmp"
        self.cert_path = self.tls_dir / "server.crt"
        self.key_path = self.tls_dir / "server.key"
        self.log_path = self.base_dir / self.log_name
        self._proc: subprocess.Popen[bytes] | None = None
        self._run_as: _RunAs | None = None

    def __repr__(self) -> str:
        # Deliberately without the password.
        return f"{type(self).__name__}(base_dir={str(self.base_dir)!r}, port={self.port}, server_name={self.server_name!r})"

    def __enter__(self) -> LinkedServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---------------------------------------------------------- public API

    @property
    def admin_password(self) -> str:
        """The admin password, for clients that log in (never logged here)."""
        return self._admin_password

    @property
    def pid(self) -> int | None:
        """PID of the main server process while it runs."""
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        return None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of the server log, for error messages and debugging."""
        return _tail(self.log_path, lines)

    def installed_chain_pem(self) -> str:
        """The certificate (chain) currently on disk for the server."""
        return self.cert_path.read_text(encoding="utf-8")

    def start(self, cert_pem: str, key_pem: str, chain_pem: str | None = None) -> None:
        """Bring the instance up presenting ``chain_pem`` (or ``cert_pem``).

        Initialises the data directory on first use (existing data under
        base_dir is kept, as after a stop), installs the TLS files and waits
        until the server accepts connections on TCP and its unix socket.
        """
        if self.is_running():
            raise LinkedServerError(f"{self!r} is already running")
        ok, reason = tools_available(self.engine)
        if not ok:
            raise LinkedServerError(reason)
        self._check_socket_path()
        run_as = self._prepare_dirs()
        # TLS files first: mariadb-install-db bootstraps with the same config.
        self._install_tls(cert_pem, key_pem, chain_pem, run_as)
        if not self._initialised():
            self._initialise(run_as)
        self._write_config(run_as)
        self._launch(run_as)
        # A marker rather than "data dir was fresh": a first start that failed
        # after initialisation (bad key, port taken) must still get its admin.
        marker = self.base_dir / ".admin-created"
        if not marker.exists():
            try:
                self._bootstrap_admin()
            except Exception:
                self.stop()
                raise
            marker.touch()

    def rotate(self, cert_pem: str, key_pem: str, chain_pem: str | None = None) -> None:
        """Swap the server certificate and make new connections use it, live.

        The server process keeps running (RDS "apply immediately" for engines
        that support certificate rotation without restart). Returns once new
        connections are guaranteed to get the new certificate. If the engine
        rejects the new files (e.g. key does not match) LinkedServerError is
        raised and the server keeps presenting the previous certificate, as
        both engines do; the rejected files stay on disk for inspection.
        """
        if not self.is_running():
            raise LinkedServerError(f"{self!r} is not running; start() it first")
        assert self._run_as is not None
        self._install_tls(cert_pem, key_pem, chain_pem, self._run_as)
        self._reload_tls()

    def install_tls(self, cert_pem: str, key_pem: str, chain_pem: str | None = None) -> None:
        """Put a new certificate in place without reloading: the server presents it from its next (re)start."""
        if self._run_as is None:
            raise LinkedServerError(f"{self!r} was never started")
        self._install_tls(cert_pem, key_pem, chain_pem, self._run_as)

    def restart(self) -> None:
        """Stop and start again with the same data and certificate (a reboot)."""
        if self._run_as is None or not self._initialised():
            raise LinkedServerError(f"{self!r} was never started")
        run_as = self._run_as
        self.stop()
        self._launch(run_as)

    def stop(self, timeout: float = 30.0) -> None:
        """Shut the server down cleanly; kill it if it does not stop in time."""
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(self._stop_signal())
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        finally:
            self._proc = None
            with _RUNNING_LOCK:
                _RUNNING.discard(self)

    # ----------------------------------------------------- engine hooks

    @abstractmethod
    def _initialised(self) -> bool:
        """Whether data_dir already holds an initialised cluster."""

    @abstractmethod
    def _initialise(self, run_as: _RunAs) -> None:
        """Create the data directory contents (initdb / install-db)."""

    @abstractmethod
    def _write_config(self, run_as: _RunAs) -> None:
        """Write the server configuration (port, TLS paths, memory limits)."""

    @abstractmethod
    def _server_command(self) -> list[str]:
        """argv that runs the server in the foreground."""

    @abstractmethod
    def _ready(self) -> bool:
        """True once the server answers SQL on its unix socket."""

    @abstractmethod
    def _bootstrap_admin(self) -> None:
        """Create the RDS-style master user ``admin`` (first start only)."""

    @abstractmethod
    def _reload_tls(self) -> None:
        """Make the running server load the TLS files anew."""

    @abstractmethod
    def _stop_signal(self) -> int:
        """Signal that triggers a clean but prompt shutdown."""

    @abstractmethod
    def _socket_file(self) -> Path:
        """Path of the unix socket the server creates."""

    # ----------------------------------------------------------- internals

    def _check_socket_path(self) -> None:
        if len(str(self._socket_file())) > _MAX_UNIX_SOCKET_PATH:
            raise LinkedServerError(
                f"unix socket path {self._socket_file()} is longer than {_MAX_UNIX_SOCKET_PATH} bytes; use a shorter base_dir"
            )

    def _prepare_dirs(self) -> _RunAs:
        run_as = _resolve_run_as(self.engine)
        self._run_as = run_as
        self.base_dir.mkdir(parents=True, exist_ok=True)
        _grant_traverse(self.base_dir, run_as)
        for directory in (self.base_dir, self.run_dir, self.tls_dir, self.tmp_dir):
            directory.mkdir(exist_ok=True)
            run_as.chown(directory)
        # 0700: the unix socket trusts local connections (superuser access).
        os.chmod(self.base_dir, 0o700)
        os.chmod(self.run_dir, 0o700)
        os.chmod(self.tls_dir, 0o700)
        os.chmod(self.tmp_dir, 0o700)
        return run_as

    def _install_tls(self, cert_pem: str, key_pem: str, chain_pem: str | None, run_as: _RunAs) -> None:
        presented = chain_pem or cert_pem
        if "BEGIN CERTIFICATE" not in presented or "PRIVATE KEY" not in key_pem:
            raise ValueError("cert_pem/chain_pem must hold PEM certificates and key_pem a PEM private key")
        _write_owned(self.cert_path, presented, 0o644, run_as)
        _write_owned(self.key_path, key_pem, 0o600, run_as)

    def _env(self) -> dict[str, str]:
        """A clean environment: no inherited PG*/MYSQL* variables or secrets."""
        return {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TZ": "UTC",
            "HOME": str(self.base_dir),
        }

    def _run_tool(self, argv: list[str], run_as: _RunAs | None, what: str) -> None:
        """Run an initialisation tool, appending its output to the server log."""
        with self.log_path.open("ab") as log:
            log.write(f"--- {what}: {' '.join(argv)}\n".encode())
            log.flush()
            kwargs = run_as.popen_kwargs() if run_as is not None else {}
            result = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env(),
                cwd=self.base_dir,
                timeout=180,
                check=False,
                **kwargs,
            )
        if result.returncode != 0:
            raise LinkedServerError(
                f"{what} failed for {self!r} (exit {result.returncode}); log tail:\n{self.log_tail()}"
            )

    def _launch(self, run_as: _RunAs) -> None:
        with self.log_path.open("ab") as log:
            log.write(f"--- starting {self.engine} on {self.host}:{self.port}\n".encode())
            log.flush()
            # New session: a Ctrl-C in the terminal must not kill the server
            # behind the test's back; lifecycle is managed via stop().
            self._proc = subprocess.Popen(  # pylint: disable=consider-using-with
                self._server_command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env(),
                cwd=self.base_dir,
                start_new_session=True,
                **run_as.popen_kwargs(),
            )
        with _RUNNING_LOCK:
            _RUNNING.add(self)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self.stop()
                raise LinkedServerError(
                    f"{self.engine} server for {self!r} exited with code {code} during startup; log tail:\n{self.log_tail()}"
                )
            if self._ready() and _tcp_listening(self.port):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise LinkedServerError(
                    f"{self.engine} server for {self!r} did not accept connections within "
                    f"{self.startup_timeout:.0f}s; log tail:\n{self.log_tail()}"
                )
            time.sleep(0.2)


# --------------------------------------------------------------- PostgreSQL


class LinkedPostgres(LinkedServer):
    """A PostgreSQL server with TLS standing in for an RDS PostgreSQL instance.

    Superuser ``postgres`` is reachable only over the unix socket in
    base_dir (trust auth, directory mode 0700); TCP on 127.0.0.1 requires a
    SCRAM password and accepts both TLS and plain connections, like an RDS
    instance with ``rds.force_ssl=0``.
    """

    engine = "postgres"
    log_name = "postgresql.log"
    superuser = "postgres"

    def __init__(self, *args: Any, log_connections: bool = True, log_line_prefix: str = RDS_LOG_LINE_PREFIX,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # What the instance's parameter group says (applied at start, like a static parameter).
        self.log_connections = log_connections
        if "'" in log_line_prefix or "\\" in log_line_prefix or "\n" in log_line_prefix:
            raise ValueError("log_line_prefix must not contain quotes, backslashes or newlines")
        self.log_line_prefix = log_line_prefix

    def _bindir(self) -> Path:
        bindir = _pg_bindir()
        if bindir is None:
            raise LinkedServerError("PostgreSQL server binaries not found")
        return bindir

    def _socket_file(self) -> Path:
        return self.run_dir / f".s.PGSQL.{self.port}"

    def _initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def _initialise(self, run_as: _RunAs) -> None:
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self._run_tool(
            [
                str(self._bindir() / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                self.superuser,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            run_as,
            "initdb",
        )
        # Any source address: RDS for PostgreSQL's pg_hba.conf accepts every address the instance's security group
        # lets through (RDS User Guide, "Controlling access with security groups"); the server listens on 127.0.0.1
        # only, so here that is any loopback address - a client bound to 127.0.0.2 is another host (issue 18).
        if self.force_ssl:
            # What rds.force_ssl=1 does: TLS or nothing.
            tcp = f"hostssl all all {_CLIENTS} scram-sha-256\nhostnossl all all {_CLIENTS} reject\n"
        else:
            # 'host' matches SSL and non-SSL TCP alike.
            tcp = f"host all all {_CLIENTS} scram-sha-256\n"
        (self.data_dir / "pg_hba.conf").write_text(
            "# Written by tests/simulator/linked.py\nlocal all all trust\n" + tcp,
            encoding="utf-8",
        )
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a", encoding="utf-8") as handle:
            handle.write("\ninclude_if_exists = 'linked.conf'\n")

    def _write_config(self, run_as: _RunAs) -> None:
        settings = {
            "listen_addresses": f"'{_LOOPBACK}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.run_dir}'",
            "unix_socket_permissions": "0700",
            "ssl": "on",
            "ssl_cert_file": f"'{self.cert_path}'",
            "ssl_key_file": f"'{self.key_path}'",
            "ssl_min_protocol_version": "'TLSv1.2'",
            "password_encryption": "'scram-sha-256'",
            "shared_buffers": "16MB",
            "max_connections": "50",
            "dynamic_shared_memory_type": "posix",
            # Throw-away test clusters: durability costs time and buys nothing.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            # One stderr log (reload messages are watched in it); db_logs.py rotates it into RDS's hourly files.
            "logging_collector": "off",
            "log_timezone": "'UTC'",
            "log_connections": "on" if self.log_connections else "off",
            "log_line_prefix": f"'{self.log_line_prefix}'",
            # A custom setting, readable with SHOW like on RDS.
            "rds.force_ssl": "1" if self.force_ssl else "0",
        }
        text = "# Written by tests/simulator/linked.py\n" + "".join(f"{k} = {v}\n" for k, v in settings.items())
        _write_owned(self.data_dir / "linked.conf", text, 0o600, run_as)

    def _server_command(self) -> list[str]:
        return [str(self._bindir() / "postgres"), "-D", str(self.data_dir)]

    def _stop_signal(self) -> int:
        return signal.SIGINT  # "fast" shutdown: roll back sessions, checkpoint, exit

    @contextlib.contextmanager
    def _local(self) -> Iterator[Any]:
        """Superuser connection over the unix socket (no TLS involved)."""
        import psycopg2  # pylint: disable=import-outside-toplevel

        conn = psycopg2.connect(
            host=str(self.run_dir),
            port=self.port,
            user=self.superuser,
            dbname="postgres",
            connect_timeout=5,
            application_name="linked-sim",
        )
        try:
            conn.autocommit = True
            yield conn
        finally:
            conn.close()

    def _ready(self) -> bool:
        import psycopg2  # pylint: disable=import-outside-toplevel

        try:
            with self._local() as conn, conn.cursor() as cur:
                cur.execute("SELECT 1")
                return True
        except psycopg2.OperationalError:
            return False

    def _bootstrap_admin(self) -> None:
        """Create ``admin`` the way RDS shapes its master user.

        Not a real superuser (RDS never hands those out): member of an
        ``rds_superuser`` role holding the monitoring and backend-signalling
        rights that session inventories and connection draining need. The
        password is hashed client-side so it never travels or logs in clear.
        """
        from psycopg2.extensions import encrypt_password  # pylint: disable=import-outside-toplevel

        with self._local() as conn, conn.cursor() as cur:
            verifier = encrypt_password(self._admin_password, self.admin_user, conn, "scram-sha-256")
            cur.execute("CREATE ROLE rds_superuser NOLOGIN")
            cur.execute("GRANT pg_monitor, pg_signal_backend TO rds_superuser")
            cur.execute(
                f'CREATE ROLE "{self.admin_user}" LOGIN CREATEDB CREATEROLE PASSWORD %s',
                (verifier,),
            )
            cur.execute(f'GRANT rds_superuser TO "{self.admin_user}" WITH ADMIN OPTION')
            cur.execute(f'CREATE DATABASE "{self.admin_user}" OWNER "{self.admin_user}"')

    def set_log_connections(self, on: bool) -> None:
        """A parameter group change of log_connections applied with a reload (RDS User Guide, "Modifying parameters
        in a DB parameter group": a dynamic parameter with ApplyMethod immediate): PostgreSQL writes
        'parameter "log_connections" changed to ...' in its log, as RDS for PostgreSQL's log shows it."""
        if on == self.log_connections or self._run_as is None:
            return
        self.log_connections = on
        self._write_config(self._run_as)
        self._reload_tls()

    def _reload_tls(self) -> None:
        """SIGHUP the postmaster and wait until new backends see the reload.

        pg_conf_load_time() of a freshly forked backend is the postmaster's
        last reload time; the postmaster rebuilds its SSL context in the same
        reload step, before forking anything else, so once a new backend
        reports a newer time every later connection gets the new certificate.
        """
        with self._local() as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_conf_load_time()")
            before = cur.fetchone()[0]
        log_offset = self.log_path.stat().st_size
        assert self._proc is not None
        os.kill(self._proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 15
        while True:
            with self._local() as conn, conn.cursor() as cur:
                cur.execute("SELECT pg_conf_load_time()")
                if cur.fetchone()[0] > before:
                    break
            if time.monotonic() > deadline:
                raise LinkedServerError(f"PostgreSQL did not reload within 15s; log tail:\n{self.log_tail()}")
            time.sleep(0.05)
        with self.log_path.open("rb") as handle:
            handle.seek(log_offset)
            new_log = handle.read().decode("utf-8", "replace")
        if "SSL configuration was not reloaded" in new_log or "could not load" in new_log:
            raise LinkedServerError(f"PostgreSQL rejected the new certificate; log tail:\n{self.log_tail()}")


# ------------------------------------------------------------------ MariaDB


def _mysql_native_hash(password: str) -> str:
    """mysql_native_password hash, so the clear password never reaches SQL."""
    inner = hashlib.sha1(password.encode("utf-8")).digest()  # noqa: S324 - protocol-defined
    return "*" + hashlib.sha1(inner).hexdigest().upper()  # noqa: S324 - protocol-defined


class LinkedMariaDB(LinkedServer):
    """A MariaDB server with TLS standing in for an RDS MariaDB/MySQL instance.

    The OS account that runs the tests (root, or the current user) reaches
    the server as an admin through the unix socket with ``unix_socket``
    authentication; TCP logins use ``admin`` with a password, with or
    without TLS. performance_schema is on because session inventories read
    ``performance_schema.threads`` for per-connection TLS details.
    """

    engine = "mariadb"
    log_name = "mariadb.log"
    # The server_audit plugin MariaDB ships (MariaDB KB, "MariaDB Audit Plugin - Installation").
    AUDIT_PLUGIN = "server_audit"

    def __init__(self, *args: Any, audit: dict[str, str] | None = None, **kwargs: Any) -> None:
        """``audit``: the MARIADB_AUDIT_PLUGIN option settings of the instance's option group (None: no plugin),
        applied at start. The plugin writes ``<base_dir>/audit/server_audit.log`` and rotates it by size itself."""
        super().__init__(*args, **kwargs)
        self.audit = dict(audit) if audit is not None else None
        self.audit_dir = self.base_dir / "audit"

    def _socket_file(self) -> Path:
        return self.run_dir / "mysqld.sock"

    @property
    def config_path(self) -> Path:
        return self.base_dir / "my.cnf"

    @property
    def local_user(self) -> str:
        """MariaDB account of the OS user running this code (unix_socket auth)."""
        return "root" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def _initialised(self) -> bool:
        return (self.data_dir / "mysql" / "global_priv.frm").exists() or (self.data_dir / "mysql" / "user.frm").exists()

    def _initialise(self, run_as: _RunAs) -> None:
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir()
        run_as.chown(self.data_dir)
        os.chmod(self.data_dir, 0o700)
        self._write_config(run_as)
        install_db = _mariadb_install_db()
        if install_db is None:
            raise LinkedServerError("mariadb-install-db not found")
        argv = [
            str(install_db),
            f"--defaults-file={self.config_path}",
            f"--datadir={self.data_dir}",
            "--skip-test-db",
            "--skip-name-resolve",
            "--auth-root-authentication-method=socket",
        ]
        if os.geteuid() == 0:
            # install-db switches to --user itself (and only root may ask).
            argv.append(f"--user={run_as.name}")
        else:
            argv.append(f"--auth-root-socket-user={self.local_user}")
        self._run_tool(argv, None, "mariadb-install-db")

    def _write_config(self, run_as: _RunAs) -> None:
        mariadbd = _mariadbd()
        if mariadbd is None:
            raise LinkedServerError("mariadbd not found")
        lines = [
            "# Written by tests/simulator/linked.py",
            "[mariadbd]",
            f"datadir={self.data_dir}",
            f"socket={self._socket_file()}",
            f"pid-file={self.run_dir / 'mysqld.pid'}",
            f"port={self.port}",
            f"bind-address={_LOOPBACK}",
            "skip-name-resolve",
            "character-set-server=utf8mb4",
            "max_connections=50",
            "innodb_buffer_pool_size=16M",
            "innodb_log_file_size=16M",
            # Kernel AIO is unavailable in some containers; threads always work.
            "innodb_use_native_aio=0",
            "innodb_flush_log_at_trx_commit=0",
            f"tmpdir={self.tmp_dir}",
            "performance_schema=ON",
            f"ssl_cert={self.cert_path}",
            f"ssl_key={self.key_path}",
            "tls_version=TLSv1.2,TLSv1.3",
            f"require_secure_transport={'ON' if self.force_ssl else 'OFF'}",
            *self._audit_lines(run_as),
            "",
        ]
        # Readable by the server user; mariadbd ignores world-writable files.
        _write_owned(self.config_path, "\n".join(lines), 0o644, run_as)

    def _audit_lines(self, run_as: _RunAs) -> list[str]:
        """my.cnf lines loading server_audit with the option group's settings (RDS User Guide, "Options for MariaDB
        database engine", MariaDB Audit Plugin support: SERVER_AUDIT_EVENTS, SERVER_AUDIT_FILE_ROTATE_SIZE,
        SERVER_AUDIT_FILE_ROTATIONS, SERVER_AUDIT_INCL_USERS, SERVER_AUDIT_EXCL_USERS; SERVER_AUDIT_LOGGING is ON)."""
        if self.audit is None:
            return []
        self.audit_dir.mkdir(exist_ok=True)
        run_as.chown(self.audit_dir)
        os.chmod(self.audit_dir, 0o755)
        settings = {"SERVER_AUDIT_EVENTS": "CONNECT,QUERY", "SERVER_AUDIT_FILE_ROTATE_SIZE": "1000000",
                    "SERVER_AUDIT_FILE_ROTATIONS": "9", **self.audit}
        lines = [f"plugin_load_add={self.AUDIT_PLUGIN}", "server_audit_logging=ON", "server_audit_output_type=file",
                 f"server_audit_file_path={self.audit_dir / 'server_audit.log'}"]
        for name in ("SERVER_AUDIT_EVENTS", "SERVER_AUDIT_FILE_ROTATE_SIZE", "SERVER_AUDIT_FILE_ROTATIONS",
                     "SERVER_AUDIT_INCL_USERS", "SERVER_AUDIT_EXCL_USERS"):
            value = str(settings.get(name) or "").replace(" ", "")
            if value and "\n" not in value:
                lines.append(f"{name.lower()}={value}")
        return lines

    def _server_command(self) -> list[str]:
        mariadbd = _mariadbd()
        if mariadbd is None:
            raise LinkedServerError("mariadbd not found")
        # --defaults-file must come first; nothing from /etc/mysql leaks in.
        return [str(mariadbd), f"--defaults-file={self.config_path}"]

    def _stop_signal(self) -> int:
        return signal.SIGTERM  # mariadbd's normal shutdown

    @contextlib.contextmanager
    def _local(self) -> Iterator[Any]:
        """Admin connection over the unix socket as the local OS account."""
        import pymysql  # pylint: disable=import-outside-toplevel

        conn = pymysql.connect(
            unix_socket=str(self._socket_file()),
            user=self.local_user,
            connect_timeout=5,
            autocommit=True,
        )
        try:
            yield conn
        finally:
            conn.close()

    def _ready(self) -> bool:
        import pymysql  # pylint: disable=import-outside-toplevel

        if not self._socket_file().exists():
            return False
        try:
            with self._local() as conn, conn.cursor() as cur:
                cur.execute("SELECT 1")
                return True
        except pymysql.err.MySQLError:
            return False

    def _bootstrap_admin(self) -> None:
        """Create ``admin``@'%' like the RDS master user and drop anonymous users."""
        with self._local() as conn, conn.cursor() as cur:
            cur.execute("SELECT user, host FROM mysql.user WHERE user = ''")
            for _user, host in cur.fetchall():
                cur.execute("DROP USER ''@%s", (host,))
            cur.execute(
                "CREATE USER %s@'%%' IDENTIFIED BY PASSWORD %s",
                (self.admin_user, _mysql_native_hash(self._admin_password)),
            )
            cur.execute("GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (self.admin_user,))
            cur.execute("FLUSH PRIVILEGES")

    def _reload_tls(self) -> None:
        """``FLUSH SSL`` reloads cert and key synchronously (MariaDB >= 10.4)."""
        import pymysql  # pylint: disable=import-outside-toplevel

        try:
            with self._local() as conn, conn.cursor() as cur:
                cur.execute("FLUSH SSL")
        except pymysql.err.MySQLError as exc:
            raise LinkedServerError(f"FLUSH SSL failed ({exc}); log tail:\n{self.log_tail()}") from exc
