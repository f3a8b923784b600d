"""A plain TLS server standing in for an endpoint whose database the simulator does not run.

DocumentDB, Neptune and RDS Proxy endpoints are not backed by a real database here; what a client (or the
collection's endpoint probe) can observe of them is the TLS handshake: the chain the endpoint presents, its
names, its key, its TLS versions. ``TLSEndpoint`` serves exactly that, with the interface of the linked
PostgreSQL/MariaDB servers (``start``, ``rotate`` hot swap, ``install_tls`` + ``restart``), so the simulator's
linker swaps its certificate when a CA rotation takes effect.

Protocols, as the services speak them:

* ``tls``: direct TLS on connect, as DocumentDB on port 27017 (DocumentDB Developer Guide, "Encrypting data in
  transit" and "Connecting programmatically": TLS on the cluster's port, 27017 by default). After the handshake
  nothing of MongoDB's wire protocol is spoken: the connection is held until the client closes it.
* ``https``: HTTPS as Neptune on port 8182 (Neptune User Guide, "Encrypting connections to your Amazon Neptune
  database with SSL/HTTPS": TLS 1.2 at least, TLS 1.3 from engine 1.3.2.0; "Checking the health status of a
  Neptune instance": ``GET /status``). ``GET /status`` answers ``{"status": "healthy", "role": ...,
  "dbEngineVersion": ...}``; any other path 404.
* ``postgres``: PostgreSQL's SSLRequest (answered ``S``) then TLS, or direct TLS (a ClientHello first, PostgreSQL
  17's ``sslnegotiation=direct``), as an RDS Proxy endpoint for PostgreSQL does (RDS User Guide, "Using TLS/SSL
  with RDS Proxy"). After the handshake the connection is closed: no login is served.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
import threading
from pathlib import Path

# The simulator's own atomic, mode-setting file writer.
from .pki import _write  # pylint: disable=protected-access

PROTOCOLS = ("tls", "https", "postgres")
_SSL_REQUEST = struct.pack(">II", 8, 80877103)
_TLS_HANDSHAKE = 0x16


class TLSEndpoint:
    """One TLS listener on 127.0.0.1:port; thread-safe certificate swaps."""

    log_path = None  # no database log (DescribeDBLogFiles lists none for these endpoints)

    def __init__(self, base_dir: str, port: int, hostname: str, protocol: str, tls13: bool = True,
                 status: dict | None = None) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")
        self.base_dir = Path(base_dir)
        self.port = port
        self.hostname = hostname
        self.protocol = protocol
        self.tls13 = tls13
        self.status = status or {}
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None
        self._installed: ssl.SSLContext | None = None
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.chain_pem = ""

    # -- the linked-server interface ------------------------------------------------
    def start(self, cert_pem: str, key_pem: str, chain_pem: str | None = None) -> None:
        self.install_tls(cert_pem, key_pem, chain_pem)
        self._listen()

    def rotate(self, cert_pem: str, key_pem: str, chain_pem: str | None = None) -> None:
        """Hot swap: the next handshake presents the new chain, without a restart."""
        self.install_tls(cert_pem, key_pem, chain_pem)
        with self._lock:
            self._context = self._installed

    def install_tls(self, cert_pem: str, key_pem: str, chain_pem: str | None = None) -> None:
        """Write the new certificate; it is presented after the next (re)start."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        chain = chain_pem or cert_pem
        chain_path, key_path = self.base_dir / "chain.pem", self.base_dir / "key.pem"
        _write(key_path, key_pem, 0o600)
        _write(chain_path, chain, 0o644)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if not self.tls13:
            context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(chain_path), str(key_path))
        if self.protocol == "https":
            context.set_alpn_protocols(["http/1.1"])
        with self._lock:
            self._installed = context
            self.chain_pem = chain

    def restart(self) -> None:
        self.stop()
        self._listen()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None

    def is_running(self) -> bool:
        return self._listener is not None and self._thread is not None and self._thread.is_alive()

    def installed_chain_pem(self) -> str:
        return self.chain_pem

    # -- serving ----------------------------------------------------------------
    def _listen(self) -> None:
        with self._lock:
            self._context = self._installed
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        listener.settimeout(0.2)
        self._stop.clear()
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True,
                                        name=f"rds-sim-tls-{self.port}")
        self._thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            if self.protocol == "postgres" and not self._postgres_preamble(conn):
                return
            with self._lock:
                context = self._context
            if context is None:
                return
            with context.wrap_socket(conn, server_side=True) as tls:
                if self.protocol == "https":
                    self._http(tls)
                elif self.protocol == "tls":
                    while tls.recv(4096):
                        pass
        except (OSError, ssl.SSLError, ValueError):
            pass  # a client that gave up, failed verification or spoke something else: as a server sees it
        finally:
            conn.close()

    @staticmethod
    def _postgres_preamble(conn: socket.socket) -> bool:
        """SSLRequest -> 'S' (then TLS), or direct TLS; anything else is refused (no plaintext login)."""
        first = conn.recv(8, socket.MSG_PEEK)
        if first[:1] and first[0] == _TLS_HANDSHAKE:
            return True
        if first == _SSL_REQUEST:
            conn.recv(8)
            conn.sendall(b"S")
            return True
        return False

    def _http(self, tls: ssl.SSLSocket) -> None:
        request = b""
        while b"\r\n\r\n" not in request and len(request) < 65536:
            chunk = tls.recv(4096)
            if not chunk:
                return
            request += chunk
        line = request.split(b"\r\n", 1)[0].decode("latin-1").split()
        path = line[1] if len(line) > 1 else "/"
        if path.split("?", 1)[0] == "/status":
            code, body = "200 OK", {"status": "healthy", **self.status}
        else:
            code, body = "404 Not Found", {"code": "MissingParameterException", "detailedMessage": f"no {path}"}
        data = json.dumps(body).encode()
        tls.sendall(f"HTTP/1.1 {code}\r\ncontent-type: application/json\r\ncontent-length: {len(data)}\r\n"
                    f"connection: close\r\n\r\n".encode() + data)


def engine_protocol(engine: str) -> str:
    """The protocol a linked `tls` endpoint speaks for an engine."""
    return {"docdb": "tls", "neptune": "https"}.get(engine, "tls")


def neptune_tls13(engine_version: str) -> bool:
    """Neptune serves TLS 1.3 from engine version 1.3.2.0 (Neptune User Guide, SSL/HTTPS)."""
    parts = tuple(int(p) if p.isdigit() else 0 for p in engine_version.split("."))
    return parts >= (1, 3, 2, 0)


__all__ = ["TLSEndpoint", "PROTOCOLS", "engine_protocol", "neptune_tls13"]
