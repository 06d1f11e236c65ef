"""Loopback stand-ins for the services govpub talks to (``govpub sandbox NAME``)."""

from __future__ import annotations

import threading
from socketserver import BaseServer
from typing import TypeVar

ServerT = TypeVar("ServerT", bound=BaseServer)


def in_background(server: ServerT, name: str) -> ServerT:
    """Serve in a daemon thread (tests, the demo); ``shutdown()`` ends it."""
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return server


def until_interrupted(server: BaseServer) -> None:
    """``govpub sandbox NAME``: serve in this thread until interrupted."""
    try:
        server.serve_forever()
    finally:
        server.server_close()
