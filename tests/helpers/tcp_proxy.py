"""A TCP proxy in front of a database server, which a test cuts at the moment it chooses.

The desk connects to the proxy as it would to the server. The test can then drop a connection
when the client sends given bytes (an idempotency key, a statement's text): before the server
hears them, or once the server has answered them (it has run and committed the statement, and
the client never hears so). It can also play the server going down (every connection dropped,
new ones refused) and coming back.

Use it without TLS (``sslmode=disable``), so that the bytes the test looks for are on the wire.
"""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

# PostgreSQL's ReadyForQuery message: 'Z', length 5, then the transaction status. The server
# sends it once a statement has finished; a notice raised while it runs comes earlier.
_READY_FOR_QUERY = b"Z\x00\x00\x00\x05"


@dataclass
class Cut:
    """A cut the test asked for; ``done`` is set as the connection is dropped, before its
    client can notice."""

    marker: bytes
    reached_server: bool  # forward the marked bytes, and drop when the server has answered them
    then_down: bool  # the server goes down at the cut
    done: threading.Event = field(default_factory=threading.Event)


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``upstream``; one thread moves every byte."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._peer: dict[socket.socket, socket.socket] = {}
        self._clients: set[socket.socket] = set()
        self._armed: Cut | None = None
        self._replies_to_cut: dict[socket.socket, Cut] = {}  # server side -> its cut
        self._requests: list[tuple[Callable[[], None], threading.Event]] = []
        self._closing = False
        self._listener: socket.socket | None = self._listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._wake_read, self._wake_write = socket.socketpair()
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._loop, name="tcp-proxy", daemon=True)
        self._thread.start()

    # -- what a test calls ----------------------------------------------------------------------
    def url(self, server_url: str) -> str:
        """``server_url`` (which names ``upstream``) through the proxy, without TLS."""
        host, port = self.upstream
        assert f"@{host}:{port}/" in server_url, server_url
        proxied = server_url.replace(f"@{host}:{port}/", f"@127.0.0.1:{self.port}/")
        return proxied + ("&" if "?" in proxied else "?") + "sslmode=disable"

    def cut_when_sent(self, marker: bytes, *, reached_server: bool, then_down: bool = False) -> Cut:
        """Drop the connection on which the client next sends ``marker``: at once, so that the
        server never hears it, or (``reached_server``) when the server answers it."""
        cut = Cut(marker, reached_server, then_down)
        with self._lock:
            self._armed = cut
        return cut

    def go_down(self) -> None:
        """As a server that stops: every connection dropped, new ones refused."""
        self._on_loop(self._go_down)

    def come_back(self) -> None:
        self._on_loop(self._come_back)

    def close(self) -> None:
        self._on_loop(self._go_down)
        self._closing = True
        self._wake_write.send(b"x")
        self._thread.join()
        self._wake_read.close()
        self._wake_write.close()
        self._selector.close()

    # -- the loop -------------------------------------------------------------------------------
    def _on_loop(self, action: Callable[[], None]) -> None:
        done = threading.Event()
        with self._lock:
            self._requests.append((action, done))
        self._wake_write.send(b"x")
        done.wait()

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        listener.setblocking(False)
        self._selector.register(listener, selectors.EVENT_READ)
        return listener

    def _loop(self) -> None:
        while not self._closing:
            for key, _ in self._selector.select():
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._wake_read:
                    sock.recv(4096)
                    with self._lock:
                        requests, self._requests = self._requests, []
                    for action, done in requests:
                        action()
                        done.set()
                elif sock is self._listener:
                    self._accept(sock)
                elif sock in self._peer:
                    self._forward(sock)

    def _accept(self, listener: socket.socket) -> None:
        client, _ = listener.accept()
        try:
            server = socket.create_connection(self.upstream)
        except OSError:  # the server itself is down: so is the connection
            client.close()
            return
        for sock in (client, server):
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ)
        self._peer[client], self._peer[server] = server, client
        self._clients.add(client)

    def _forward(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(sock)
            return
        if sock in self._replies_to_cut and _READY_FOR_QUERY in data:
            # The server has finished the statement (a notice sent while it ran is not the
            # answer); the client never hears the reply.
            self._cut(sock, self._replies_to_cut[sock])
            return
        cut = None
        if sock in self._clients:
            with self._lock:
                if self._armed is not None and self._armed.marker in data:
                    cut, self._armed = self._armed, None
        if cut is not None and not cut.reached_server:
            self._cut(sock, cut)
            return
        server = self._peer[sock]
        if cut is not None:
            self._replies_to_cut[server] = cut
        self._send(server, data)

    def _cut(self, sock: socket.socket, cut: Cut) -> None:
        # Set before the drop: a client returning from the call that failed must find it set.
        cut.done.set()
        self._drop(sock)
        if cut.then_down:
            self._go_down()

    def _send(self, sock: socket.socket, data: bytes) -> None:
        sock.setblocking(True)
        try:
            sock.sendall(data)
        except OSError:
            self._drop(sock)
            return
        sock.setblocking(False)

    def _drop(self, sock: socket.socket) -> None:
        """Close both ends of ``sock``'s connection."""
        for end in (sock, self._peer.get(sock)):
            if end is None or end not in self._peer:
                continue
            del self._peer[end]
            self._clients.discard(end)
            self._replies_to_cut.pop(end, None)
            self._selector.unregister(end)
            end.close()

    def _go_down(self) -> None:
        for sock in list(self._peer):
            self._drop(sock)
        if self._listener is not None:
            self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None

    def _come_back(self) -> None:
        if self._listener is None:
            self._listener = self._listen(self.port)
