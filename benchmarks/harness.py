"""What every benchmark script shares: progress bars, percentiles, the machine description and
saving results as JSON under docs/benchmarks/ (docs/benchmarks.md is rendered from them)."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, TypeVar

__all__ = ["ROOT", "RESULTS", "Progress", "progress", "percentile", "process_cpu_seconds", "process_rss_bytes",
           "graph_label_counts", "add_cache_argument", "add_loaded_graph_arguments", "durable_url", "child_processes",
           "latency_summary", "latency_line", "machine",
           "save_results", "command_line", "add_output_arguments", "finish", "add_tree_argument", "use_tree"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks"
T = TypeVar("T")


class Progress:
    """A one-line progress bar on stderr (redrawn at most 5 times a second; silent when quiet)."""

    def __init__(self, label: str, total: int | None, quiet: bool = False):
        self.label, self.total, self.quiet = label, total, quiet
        self.done = 0
        self.started = self._drawn = time.perf_counter()

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.perf_counter()
        if not self.quiet and (now - self._drawn > 0.2 or self.done == self.total):
            self._drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.done / max(now - self.started, 1e-9)
        if self.total:
            filled = int(30 * self.done / self.total)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total}"
        else:
            bar = str(self.done)
        sys.stderr.write(f"\r{self.label:24s} {bar} {rate:,.0f}/s ")
        sys.stderr.flush()

    def close(self) -> None:
        if not self.quiet:
            self._draw(time.perf_counter())
            sys.stderr.write("\n")


def progress(items: Iterable[T], label: str, total: int | None = None, quiet: bool = False) -> Iterator[T]:
    bar = Progress(label, total, quiet)
    for item in items:
        yield item
        bar.advance()
    bar.close()


def percentile(samples: list[float], q: float) -> float:
    """The nearest-rank q-quantile (0 < q <= 1) of a non-empty sample."""
    ordered = sorted(samples)
    rank = math.ceil(round(q * len(ordered), 6))  # rounded first: 0.95 * 100 is 95.00000000000001
    return ordered[min(len(ordered), max(1, rank)) - 1]


def latency_summary(latencies_ms: list[float], seconds: float) -> dict[str, float]:
    return {"requests": len(latencies_ms), "seconds": round(seconds, 3),
            "throughput": round(len(latencies_ms) / seconds, 1) if seconds > 0 else 0.0,
            "p50_ms": round(percentile(latencies_ms, 0.50), 3), "p95_ms": round(percentile(latencies_ms, 0.95), 3),
            "p99_ms": round(percentile(latencies_ms, 0.99), 3), "max_ms": round(max(latencies_ms), 3)}


def latency_line(row: dict[str, float], digits: int = 2) -> str:
    return (f"p50 {row['p50_ms']:7.{digits}f} ms  p95 {row['p95_ms']:7.{digits}f} ms  "
            f"p99 {row['p99_ms']:7.{digits}f} ms  errors {row.get('errors', 0)}")


def process_rss_bytes(pid: int | str = "self") -> int:
    """Resident memory of process ``pid`` (default this one; Linux /proc; 0 elsewhere)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def add_cache_argument(parser: argparse.ArgumentParser) -> None:
    """--cache-mb, for the scripts that open a durable graph directory (see durable_url)."""
    parser.add_argument("--cache-mb", type=float, default=0, help="the graph's cache_mb (default: its own default)")


def add_loaded_graph_arguments(parser: argparse.ArgumentParser) -> None:
    """--cache-mb and --events, for the scripts that measure a durable graph a load left behind:
    the identifiers they ask for come from the population's first --events events (what the
    load got through), so the population flags must be the load's."""
    add_cache_argument(parser)
    parser.add_argument("--events", type=int, default=400_000,
                        help="take identifiers from this many first events of the population (what was loaded)")


def durable_url(directory: Path, cache_mb: float = 0) -> str:
    """The file:// URL of a durable graph directory, with ``cache_mb`` when one is given."""
    url = directory.resolve().as_uri()
    return f"{url}?cache_mb={cache_mb:g}" if cache_mb else url


def graph_label_counts(store: Any) -> dict[str, int]:
    """Elements per label of an in-process graph's store: the store's own count (the disk store
    counts in SQLite), or a pass over a store that holds every record (a checkout before it)."""
    if hasattr(store, "label_counts"):
        return store.label_counts()
    counts: dict[str, int] = {}
    for table in (store.vertices, store.edges):
        for element in table.values():
            counts[element.label] = counts.get(element.label, 0) + 1
    return counts


def child_processes(pid: int) -> list[int]:
    """The live (not zombie) child processes of ``pid`` (Linux /proc; empty elsewhere)."""
    found = []
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return found
    for entry in entries:
        if entry.name.isdigit():
            try:
                state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            except (OSError, ValueError):
                continue
            if int(parent) == pid and state != "Z":
                found.append(int(entry.name))
    return found


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (Linux /proc; 0.0 elsewhere).
    On a shared machine CPU per unit of work is steadier than throughput."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": memory_gb, "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}", "commit": _commit(),
            "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None}


def _commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def command_line() -> str:
    """How this run was started (without --out, which only says where the JSON went)."""
    args, kept = sys.argv[1:], []
    for n, arg in enumerate(args):
        if arg == "--out" or (n and args[n - 1] == "--out") or arg.startswith("--out="):
            continue
        kept.append(arg)
    return "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT), *kept])


def save_results(name: str, results: dict[str, Any], out_dir: Path | None = None) -> Path:
    """Write ``<out_dir>/<name>.json`` with the machine, the command and the time added."""
    out_dir = RESULTS if out_dir is None else out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    document = {"benchmark": name, "command": command_line(), "machine": machine(),
                "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), **results}
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def add_output_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """The flags every benchmark shares: progress bars and where the results go."""
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--no-save", dest="save", action="store_false", help="do not write the results JSON")
    parser.add_argument("--out", type=Path, default=None, help="directory for the results (default docs/benchmarks)")
    parser.add_argument("--name", default=name, help=f"results file name without .json (default {name})")


def finish(args: argparse.Namespace, results: dict[str, Any]) -> int:
    if args.save:
        print(f"wrote {save_results(args.name, results, args.out)}")
    return 0


def add_batch_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch", type=int, default=20, help="events per ingest call (default 20)")


def add_tree_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tree", type=Path, default=ROOT,
                        help="the checkout whose identity/ and gremlin/ are measured (default this one), "
                             "to compare two trees in one session")


def parse_on_tree(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The arguments, ``--tree`` among them, with identity and gremlin imported from that tree."""
    add_tree_argument(parser)
    args = parser.parse_args(argv)
    use_tree(args.tree)
    return args


def use_tree(tree: Path) -> None:
    """Import identity and gremlin from ``tree`` (call before anything imports them)."""
    tree = tree.resolve()
    if tree == ROOT:
        return
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("identity", "gremlin"))
    if loaded:
        raise RuntimeError(f"{loaded[0]} is imported already: --tree must come first")
    sys.path.insert(0, str(tree))
