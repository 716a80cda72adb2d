"""The probe benchmarks/group_wall.py puts into ``identity serve`` (through PYTHONPATH): times each
ingest group its tenant writer writes, step by step. Inert unless GROUP_WALL_DIR is set and this
process is ``identity serve``; it patches nothing the service's answers depend on.

Per group, one JSON line in GROUP_WALL_DIR/<pid>.jsonl: the group's wall and the writer thread's
CPU; for the batch read and the write each, the wall (and the thread's CPU where it computes) of
building, encoding (GraphBinary), sending, waiting for the answer's first byte, receiving and
decoding it, and across each request the graph server's CPU (/proc/PID/stat of
GROUP_WALL_SERVER_PID), the time its request threads (gremlin-server-*) and its JIT and GC threads
ran and waited runnable (schedstat), and this process's CPU meanwhile; the plans' and the View's
wall and CPU. Reading /proc costs the writer about 0.1 ms a request: compare runs with the probe
against each other, not with I1.
"""

import os
import sys

_DIR = os.environ.get("GROUP_WALL_DIR")
_ARGS = [os.path.basename(arg) for arg in getattr(sys, "orig_argv", ())]
# `python -m identity serve` (benchmarks/service.py) or the `identity serve` console script
if _DIR and "identity" in _ARGS and "serve" in _ARGS:
    import builtins
    import json
    import select
    import threading
    import time

    _SERVER = os.environ.get("GROUP_WALL_SERVER_PID", "")
    _TICKS = os.sysconf("SC_CLK_TCK")
    _local = threading.local()
    _threads: dict = {"at": -10.0, "tids": []}

    def _server_cpu_ms() -> float:
        if not _SERVER:
            return 0.0
        with open(f"/proc/{_SERVER}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000.0 / _TICKS

    def _thread_kind(name: str):
        if name.startswith("gremlin-server"):
            return "requests"
        return "jit_gc" if "Compiler" in name or name.startswith(("GC ", "G1")) else None

    def _server_sched() -> dict:
        """ns run and ns waiting runnable, by kind of server thread (the thread list kept 2 s)."""
        totals = {"requests_run": 0, "requests_wait": 0, "jit_gc_run": 0, "jit_gc_wait": 0}
        if not _SERVER:
            return totals
        now = time.monotonic()
        if now - _threads["at"] > 2.0:
            found = []
            for tid in os.listdir(f"/proc/{_SERVER}/task"):
                try:
                    with open(f"/proc/{_SERVER}/task/{tid}/comm") as comm:
                        kind = _thread_kind(comm.read().strip())
                except OSError:
                    continue
                if kind:
                    found.append((tid, kind))
            _threads.update(at=now, tids=found)
        for tid, kind in _threads["tids"]:
            try:
                with open(f"/proc/{_SERVER}/task/{tid}/schedstat") as sched:
                    run, wait, _ = sched.read().split()
            except OSError:
                continue
            totals[kind + "_run"] += int(run)
            totals[kind + "_wait"] += int(wait)
        return totals

    def _own_sched() -> tuple[int, int]:
        """This thread's ns run and ns waiting runnable (the rest of its wall it was blocked:
        on a socket, or waiting for the GIL)."""
        with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as sched:
            run, wait, _ = sched.read().split()
        return int(run), int(wait)

    def _add(key: str, value: float) -> None:
        record = getattr(_local, "record", None)
        if record is not None:
            key = key.replace("@", getattr(_local, "kind", "other"))
            record[key] = record.get(key, 0.0) + value

    def _timed(name: str, function, *, cpu: bool = True):
        def timed(*args, **kwargs):
            wall, thread = time.perf_counter(), time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                _add(name + "_wall", (time.perf_counter() - wall) * 1000)
                if cpu:
                    _add(name + "_cpu", (time.thread_time() - thread) * 1000)
        return timed

    def _as(kind: str, function):
        timed = _timed(kind + "_total", function)

        def within(*args, **kwargs):
            _local.kind = kind
            try:
                return timed(*args, **kwargs)
            finally:
                _local.kind = "other"
        return within

    def _install() -> None:
        from gremlin_python.driver import serializer

        from gremlin import websocket_client
        from identity.domain import batch_read, chunk, ingest
        from identity.graph import group_commit

        ingest.read_batch = _as("read", ingest.read_batch)
        ingest._commit = _as("write", ingest._commit)
        ingest._plan = _timed("plan", ingest._plan)
        batch_read.view_of = _timed("view", batch_read.view_of)
        chunk.Chunk.traversal = _timed("write_build", chunk.Chunk.traversal)
        codec = serializer.GraphBinarySerializersV1
        codec.serialize_message = _timed("@_encode", codec.serialize_message)
        codec.deserialize_message = _timed("@_decode", codec.deserialize_message)
        socket_class = websocket_client.WebSocket
        send, receive = socket_class.send_binary, socket_class.receive

        def send_binary(self, payload):
            _local.before = (_server_cpu_ms(), _server_sched(), os.times())
            _add("@_requests", 1)
            _add("@_bytes_out", len(payload))
            _timed("@_send", send, cpu=False)(self, payload)

        def received(self):
            started = time.perf_counter()
            select.select([self._socket], [], [])  # the answer's first byte (nothing is buffered between requests)
            _add("@_server_wait_wall", (time.perf_counter() - started) * 1000)
            message = _timed("@_receive", receive, cpu=False)(self)
            _add("@_bytes_in", len(message))
            before = getattr(_local, "before", None)
            if before is not None:
                cpu, sched, times = before
                _add("@_server_cpu", _server_cpu_ms() - cpu)
                for key, value in _server_sched().items():
                    _add(f"@_server_{key}", (value - sched[key]) / 1e6)
                now = os.times()
                _add("@_service_cpu_meanwhile", (now.user + now.system - times.user - times.system) * 1000)
            return message

        socket_class.send_binary, socket_class.receive = send_binary, received
        write_group = group_commit.GroupCommit._write_next_group

        def write_next_group(self):
            with self._changed:
                taken = 0  # the callers _write_next_group takes: whole ones, up to max_group items
                for caller in self._queue:
                    if taken >= self._max_group:
                        break
                    taken += len(caller.items)
                record = {"at": time.time(), "events": taken}
            _local.record, _local.kind = record, "other"
            wall, thread, sched = time.perf_counter(), time.thread_time(), _own_sched()
            try:
                return write_group(self)
            finally:
                record["group_wall"] = (time.perf_counter() - wall) * 1000
                record["group_cpu"] = (time.thread_time() - thread) * 1000
                run, wait = _own_sched()
                record["group_runnable_wait"] = (wait - sched[1]) / 1e6
                record["group_blocked"] = record["group_wall"] - (run - sched[0]) / 1e6 - record["group_runnable_wait"]
                _local.record = None
                with open(os.path.join(_DIR, f"{os.getpid()}.jsonl"), "a") as out:
                    out.write(json.dumps(record) + "\n")
        group_commit.GroupCommit._write_next_group = write_next_group

    _import = builtins.__import__
    _NEEDED = {"identity.domain.ingest": "_commit", "identity.domain.chunk": "Chunk",
               "identity.domain.batch_read": "view_of", "identity.graph.group_commit": "GroupCommit",
               "gremlin.websocket_client": "WebSocket", "gremlin_python.driver.serializer": "GraphBinarySerializersV1"}

    _installed: list = []

    def _importing(name, *args, **kwargs):
        """Install once every module patched is imported whole (an import hook: the service
        imports them itself, in its own order). Once only: imports nest, and each frame of this
        hook still on the stack checks again when its own import returns."""
        module = _import(name, *args, **kwargs)
        if not _installed and all(hasattr(sys.modules.get(m), attribute) for m, attribute in _NEEDED.items()):
            _installed.append(True)
            builtins.__import__ = _import
            _install()
        return module

    builtins.__import__ = _importing
