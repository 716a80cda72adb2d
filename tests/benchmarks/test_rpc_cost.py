"""benchmarks/rpc_cost.py: the service's CPU per resolve split by thread, beside the pieces of a
request timed alone."""

from __future__ import annotations

import os
import threading

import pytest

from benchmarks import rpc_cost

TINY = ["--people", "12", "--seed", "3"]


def test_thread_cpu_counts_the_main_thread_apart_from_the_others() -> None:
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(1000))

    before = rpc_cost.thread_cpu(os.getpid())
    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        for _ in range(100):  # until the spinner has used some CPU (/proc counts 10 ms ticks), at most 10 s
            during = rpc_cost.thread_cpu(os.getpid())  # the spinner still runs: it counts
            if during["threads"] - before["threads"] >= 0.1:
                break
            stop.wait(0.1)
    finally:
        stop.set()
        spinner.join()
    assert sorted(during) == ["loop", "threads"]
    assert during["threads"] - before["threads"] >= 0.1
    assert during["loop"] - before["loop"] < during["threads"] - before["threads"]


@pytest.mark.integration
@pytest.mark.slow
def test_rpc_cost_measures_a_real_service_and_the_pieces(capsys: pytest.CaptureFixture[str]) -> None:
    assert rpc_cost.main([*TINY, "--requests", "100", "--pieces"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.strip().startswith("1 "))
    total, loop, threads = _resolve_cpu(row)
    # /proc counts 10 ms ticks, by thread and for the process (which keeps ended threads' too):
    # over 100 calls each figure is within a few ticks, 0.1 ms a call each
    assert loop > 0 and threads > 0 and loop + threads <= total + 0.5
    pieces = {line[:34].strip(): float(line[34:]) for line in out.split("CPU ms per call)\n")[1].splitlines()
              if line.startswith("  ")}
    assert set(pieces) >= {"IdentityGraph.resolve", "the resolve method", "Service.run(the method)", "authentication"}
    assert all(ms > 0 for ms in pieces.values())


def _resolve_cpu(row: str) -> tuple[float, float, float]:
    """(total, loop, threads) from a round's row: ``1 TREE  2.400 (0.800 + 1.600) ...``."""
    fields = row.split()
    return float(fields[2]), float(fields[3].lstrip("(")), float(fields[5].rstrip(")"))
