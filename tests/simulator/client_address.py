"""A client at another address: connections relayed to a linked server from a chosen loopback source address.

libpq (psycopg2) cannot choose the source address of its connection, and every local client reaches a linked
server from 127.0.0.1. :class:`SourceAddressRelay` listens on 127.0.0.1 and opens, for each connection it accepts,
one to the server bound to ``source`` (127.0.0.2 by default: another host, as far as the server can tell). Bytes
pass through unchanged, so TLS (PostgreSQL's SSLRequest, then the handshake) is end to end between the real client
and the server: the server's log and ``pg_stat_ssl`` show a TLS client at ``source``. Used by the tests and
`make demo` for a TLS client that no inventory host accounts for (issue 18).
"""

from __future__ import annotations

import select
import socket
import threading
from typing import Optional

_BLOCK = 65536


class SourceAddressRelay:
    """``with SourceAddressRelay("127.0.0.1", port) as relay:`` connect to ``relay.port`` on 127.0.0.1."""

    def __init__(self, target_host: str, target_port: int, source: str = "127.0.0.2") -> None:
        self.target = (target_host, int(target_port))
        self.source = source
        self.port = 0
        self._listener: Optional[socket.socket] = None
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._closed = threading.Event()

    def __enter__(self) -> "SourceAddressRelay":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> "SourceAddressRelay":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.2)
        self._listener, self.port = listener, listener.getsockname()[1]
        thread = threading.Thread(target=self._accept, name="relay-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._closed.is_set():
            try:
                client, _peer = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                upstream.bind((self.source, 0))
                upstream.connect(self.target)
            except OSError:
                client.close()
                continue
            self._sockets += [client, upstream]
            thread = threading.Thread(target=self._pump, args=(client, upstream), name="relay-pump", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while not self._closed.is_set():
                ready, _w, _x = select.select([a, b], [], [], 0.2)
                for sock in ready:
                    data = sock.recv(_BLOCK)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except OSError:
            return
        finally:
            for sock in (a, b):
                try:
                    sock.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._closed.set()
        for sock in [self._listener] + self._sockets:
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass
        for thread in self._threads:
            thread.join(timeout=2)
