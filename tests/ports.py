"""Loopback ports on which connections are refused, for as long as a test needs them.

Probing for a free port and closing the probe is not enough: until the test connects, any other
process on the machine (another test run starts servers on ephemeral ports all the time) may
listen on it, and a connection meant to be refused reaches someone else's server. A socket bound
but not listening keeps the port: connecting is refused, and the kernel gives the port to no one
binding port 0. It is bound with SO_REUSEADDR, so a server of the test itself may still listen on
that very port (a restart), and a port a stopped server just left can be held at once.
"""

from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import Iterator

__all__ = ["refused_port"]


@contextmanager
def refused_port(port: int = 0) -> Iterator[int]:
    """Hold ``port`` on 127.0.0.1 (0: an ephemeral one) without listening; yields the port."""
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))
        yield holder.getsockname()[1]
