"""The in-process backends behind gremlinpython's RemoteConnection interface."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from gremlin_python.driver.remote_connection import RemoteConnection, RemoteTraversal
from gremlin_python.process.traversal import Bytecode

from .engine import Graph
from .errors import UnsupportedStepError

__all__ = ["LocalRemoteConnection"]


class LocalRemoteConnection(RemoteConnection):
    """Executes bytecode in this process: no socket, no serialization.

    Results are detached gremlinpython values, the same types the stock driver returns."""

    def __init__(self, graph: Graph, *, url: str = "memory://", traversal_source: str = "g"):
        super().__init__(url, traversal_source)
        self.graph = graph
        self._closed = False

    def submit(self, bytecode: Bytecode) -> RemoteTraversal:
        if self._closed:
            raise RuntimeError("This connection is closed")
        return RemoteTraversal(iter(self.graph.execute(bytecode)))

    def submit_async(self, bytecode: Bytecode) -> Future:
        future: Future = Future()
        try:
            future.set_result(self.submit(bytecode))
        except BaseException as error:  # delivered through the future, as the driver does
            future.set_exception(error)
        return future

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True

    def create_session(self) -> Any:
        raise UnsupportedStepError(
            "Sessions (g.tx()) are not supported: every traversal is its own transaction, as on Neptune")
