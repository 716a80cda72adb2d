"""Where an ingest group's wall time goes on a graph server, step by step (issue #15): I1's load
(benchmarks/ingest.py, the gremlin backend only) with a probe in ``identity serve``
(benchmarks/group_wall_probe) that times each group its tenant writer writes.

    python benchmarks/group_wall.py --gremlin-url ws://127.0.0.1:8182/gremlin --server-pid PID
    python benchmarks/group_wall.py --gremlin-url URL --server-pid PID --tree /tmp/main -- --people 300

Printed, per event of the measured groups (the warm-up's service is not counted): the group's
wall and the writer thread's CPU; the batch read's and the write's build, GraphBinary encode,
send, wait for the answer's first byte, receive and decode, our View and the plans; and across
the two requests the graph server's CPU, its request threads' time running and waiting runnable
(what the machine's other work and the server's own JIT and GC threads cost them), the JIT's and
GC's, and the service's CPU meanwhile. Arguments after ``--`` go to benchmarks/ingest.py.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import ingest  # noqa: E402

__all__ = ["main", "summary", "probing"]

PROBE = Path(__file__).resolve().parent / "group_wall_probe"

#: (label, key of the wall, key of the writer thread's CPU or None), in the chain's order
_STEPS = [("group", "group_wall", "group_cpu"), ("read (all of it)", "read_total_wall", "read_total_cpu"),
          ("  encode", "read_encode_wall", "read_encode_cpu"), ("  send", "read_send_wall", None),
          ("  wait for the answer", "read_server_wait_wall", None), ("  receive", "read_receive_wall", None),
          ("  decode", "read_decode_wall", "read_decode_cpu"), ("  the View", "view_wall", "view_cpu"),
          ("plans", "plan_wall", "plan_cpu"), ("write (all of it)", "write_total_wall", "write_total_cpu"),
          ("  build", "write_build_wall", "write_build_cpu"), ("  encode", "write_encode_wall", "write_encode_cpu"),
          ("  send", "write_send_wall", None), ("  wait for the answer", "write_server_wait_wall", None),
          ("  receive", "write_receive_wall", None), ("  decode", "write_decode_wall", "write_decode_cpu")]
_SERVER = [("server CPU", "server_cpu"), ("its request threads ran", "server_requests_run"),
           ("  waited runnable", "server_requests_wait"), ("its JIT and GC threads ran", "server_jit_gc_run"),
           ("  waited runnable", "server_jit_gc_wait"), ("the service's CPU meanwhile", "service_cpu_meanwhile")]


def summary(records: list[dict]) -> list[str]:
    """The lines printed for the groups ``records`` (the probe's JSON lines)."""
    events = sum(record["events"] for record in records)
    keys = {key for record in records for key in record}
    total = {key: sum(record.get(key, 0.0) for record in records) for key in keys}
    per = lambda key: total.get(key, 0.0) / events  # noqa: E731
    span = (records[-1]["at"] - records[0]["at"]) * 1000 + records[-1]["group_wall"]
    lines = [f"{len(records)} groups of {events / len(records):.1f} events; the writer busy "
             f"{total['group_wall'] / span:.0%} of {span / 1000:.1f} s",
             f"{'ms per event':30s} {'wall':>7s} {'CPU':>7s}"]
    for label, wall, cpu in _STEPS:
        lines.append(f"{label:30s} {per(wall):7.3f} {per(cpu):7.3f}" if cpu else f"{label:30s} {per(wall):7.3f}")
    on_server = sum(per(f"{kind}_{step}_wall") for kind in ("read", "write") for step in ("send", "server_wait", "receive"))
    ran = per("group_wall") - per("group_runnable_wait") - per("group_blocked")
    lines.append(f"the writer thread ran {ran:.3f}, waited runnable {per('group_runnable_wait'):.3f}, blocked "
                 f"{per('group_blocked'):.3f}; its sends, waits and receives took {on_server:.3f} of wall")
    lines.append(f"{'across each request':30s} {'read':>7s} {'write':>7s}")
    for label, key in _SERVER:
        lines.append(f"{label:30s} {per('read_' + key):7.3f} {per('write_' + key):7.3f}")
    for kind in ("read", "write"):
        lines.append(f"{kind}: {total[kind + '_bytes_out'] / total[kind + '_requests'] / 1024:.1f} KB sent, "
                     f"{total[kind + '_bytes_in'] / total[kind + '_requests'] / 1024:.1f} KB answered a request")
    return lines


@contextlib.contextmanager
def probing(directory: str, server_pid: int) -> Iterator[None]:
    """The services this process starts meanwhile load the probe (their environment is this
    process's: benchmarks/service.py), which writes to ``directory``; the environment is put back after."""
    before = {key: os.environ.get(key) for key in ("GROUP_WALL_DIR", "GROUP_WALL_SERVER_PID", "PYTHONPATH")}
    os.environ.update({"GROUP_WALL_DIR": directory, "GROUP_WALL_SERVER_PID": str(server_pid),
                       "PYTHONPATH": os.pathsep.join(filter(None, [str(PROBE), before["PYTHONPATH"]]))})
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gremlin-url", required=True)
    parser.add_argument("--server-pid", type=int, required=True, help="the graph server's process")
    parser.add_argument("--tree", help="another checkout's identity/ and gremlin/ (benchmarks/ingest.py --tree)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory, probing(directory, args.server_pid):
        ingest.main(["--people", "300", "--concurrency", "4", "--no-save", "--quiet", *extra,
                     "--backends", "gremlin", "--gremlin-url", args.gremlin_url, "--server-pid", str(args.server_pid),
                     *(["--tree", args.tree] if args.tree else [])])
        logs = sorted(Path(directory).glob("*.jsonl"), key=lambda path: path.stat().st_mtime)
        if not logs:
            print("no group was recorded: is the probe on the service's PYTHONPATH?", file=sys.stderr)
            return 1
        records = [json.loads(line) for line in logs[-1].read_text().splitlines()]  # the measured service's
    print("\n".join(summary(records)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
