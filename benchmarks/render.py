"""Render docs/benchmarks/*.json into the generated part of docs/benchmarks.md, with PNG plots.

    python benchmarks/render.py             # after accuracy.py, ingest.py and resolve.py
    python benchmarks/render.py --no-plots  # tables only (no matplotlib needed)

Only the text between the GENERATED markers in docs/benchmarks.md is replaced; the rest of the
page (definitions, analysis) is written by hand. Plots need matplotlib (``pip install -e .[bench]``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import RESULTS, ROOT  # noqa: E402

__all__ = ["render", "generated_section", "BEGIN", "END"]

BEGIN = "<!-- BEGIN GENERATED RESULTS (python benchmarks/render.py) -->"
END = "<!-- END GENERATED RESULTS -->"
_PAGE = ROOT / "docs" / "benchmarks.md"


def _load(directory: Path, name: str) -> dict | None:
    path = directory / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _merged(directory: Path, name: str) -> dict | None:
    """<name>.json with what <name>-*.json add (parts measured by separate processes, in
    parallel): accuracy parts on the same population add runs; ingest and resolve parts add
    backends (each backend's population is given with it)."""
    result = _load(directory, name)
    if result is None:
        return None
    result["parts"] = [result]
    for path in sorted(directory.glob(f"{name}-*.json")):
        part = json.loads(path.read_text())
        if "runs" in result and part.get("population") == result["population"]:
            result["runs"] = result["runs"] + part["runs"]
        elif "backends" in result:
            for backend, measured in part["backends"].items():
                result["backends"].setdefault(backend, {**measured, "part": _population(part)})
        else:
            continue
        result["parts"].append(part)
    return result


def _provenance(result: dict) -> list[str]:
    lines = []
    for part in result.get("parts", [result]):
        m = part["machine"]
        load = ", ".join(str(x) for x in m.get("load_average") or [])
        lines += [f"Run {part['finished']} on {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, "
                  f"Python {m['python']}, {m['system']}, commit {m['commit']} (load average at the end: {load}):", "",
                  "```sh", part["command"], "```", ""]
    return lines


def _population(result: dict) -> str:
    p = result["population"]
    return (f"{p['people']:,} people (seed {p['seed']}), {result['events']:,} events"
            + (f", {result['identifiers']:,} distinct identifiers, {result['person_owned_identifiers']:,} of them "
               f"owned by one person" if "identifiers" in result else ""))


def _label(backend: str, measured: dict) -> str:
    return f"{backend} ({measured['part']})" if "part" in measured else backend


def accuracy_section(result: dict, plots: dict[str, str]) -> list[str]:
    lines = ["### Accuracy", "", _population(result) + ".", "", *_provenance(result),
             "| guards | hops | precision | recall | F1 | largest customer | customers |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row in result["runs"]:
        hops = "unlimited" if row["hops"] is None else row["hops"]
        lines.append(f"| {row['guards']} | {hops} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1']:.4f} "
                     f"| {row['largest_customer']:,} | {row['customers']:,} |")
    lines.append("")
    for key in ("accuracy_hops", "largest_customer"):
        if key in plots:
            lines += [f"![{key.replace('_', ' ')}]({plots[key]})", ""]
    return lines


def ingest_section(result: dict, plots: dict[str, str]) -> list[str]:
    lines = ["### Ingest through RPC", "", f"{_population(result)}, {result['batch']} events per `ingest` call.", "",
             *_provenance(result),
             "| backend | clients | events/s | service CPU ms/event | call p50 ms | p95 ms | p99 ms | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for backend, measured in result["backends"].items():
        for row in measured["levels"]:
            cpu = row.get("service_cpu_ms_per_event")  # not in results measured before it was
            lines.append(f"| {_label(backend, measured)} | {row['concurrency']} | {row['events_per_second']:,.0f} "
                         f"| {'' if cpu is None else f'{cpu:.2f}'} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['p99_ms']:.1f} | {row['errors']} |")
    lines += ["", "| backend | identifiers | links | service RSS start → end | RSS growth per identifier |",
              "|---|---:|---:|---|---:|"]
    for backend, measured in result["backends"].items():
        stats = measured["stats"]
        lines.append(f"| {_label(backend, measured)} | {stats['identifiers']:,} | {stats['links']:,} | "
                     f"{measured['rss_start_bytes'] / 2 ** 20:.0f} MB → "
                     f"{measured['rss_end_bytes'] / 2 ** 20:.0f} MB | "
                     f"{measured['bytes_per_identifier'] or 0:,.0f} B |")
    lines.append("")
    if "ingest" in plots:
        lines += [f"![ingest throughput]({plots['ingest']})", ""]
    return lines


def resolve_section(result: dict, plots: dict[str, str]) -> list[str]:
    lines = ["### Resolve through RPC", "", f"{_population(result)}; every resolve has `max_hops` {result['hops']}.",
             "", *_provenance(result),
             "| backend | load | requests/s | p50 ms | p95 ms | p99 ms | errors |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for backend, measured in result["backends"].items():
        rows = measured["levels"] + ([measured["fixed_rate"]] if measured.get("fixed_rate") else [])
        for row in rows:
            load = (f"fixed {row['target_rate']:g}/s, {row['concurrency']} clients" if row["target_rate"]
                    else f"{row['concurrency']} clients, closed loop")
            lines.append(f"| {_label(backend, measured)} | {load} | {row['throughput']:,.0f} | {row['p50_ms']:.2f} "
                         f"| {row['p95_ms']:.2f} | {row['p99_ms']:.2f} | {row['errors']} |")
    lines += ["", "Single traversal (what `resolve` runs) beside a client-side walk with one round trip per hop, "
              "both through gremlinpython over the WebSocket endpoint on the same graph:", "",
              "| backend | single p50 ms | p99 ms | walk p50 ms | p99 ms | walk round trips (mean) |",
              "|---|---:|---:|---:|---:|---:|"]
    for backend, measured in result["backends"].items():
        walk = measured.get("walk")
        if walk:
            s, w = walk["single_traversal"], walk["client_walk"]
            lines.append(f"| {backend} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {w['p50_ms']:.2f} | {w['p99_ms']:.2f} "
                         f"| {walk['walk_round_trips_mean']} |")
    lines.append("")
    if "resolve" in plots:
        lines += [f"![resolve latency against load]({plots['resolve']})", ""]
    return lines


# -- plots -----------------------------------------------------------------------------------------

def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _figure(plt, title: str, xlabel: str, ylabel: str | None = None, *, log2_x: bool = False):
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if log2_x:
        ax.set_xscale("log", base=2)
    return fig, ax


def _plot_accuracy(plt, accuracy: dict, save) -> None:
    default = [r for r in accuracy["runs"] if r["guards"] == "default"]
    off = next((r for r in accuracy["runs"] if r["guards"] == "off"), None)
    fig, ax = _figure(plt, "Accuracy against hops", "max_hops of resolve", "pairwise score")
    for metric, style in (("precision", "o-"), ("recall", "s-"), ("f1", "^-")):
        ax.plot([r["hops"] for r in default], [r[metric] for r in default], style, label=f"{metric} (default guards)")
    if off:
        ax.axhline(off["precision"], color="grey", linestyle="--", label="precision, guards off")
    ceiling = next((r for r in accuracy["runs"] if r["guards"] == "evidence ceiling"), None)
    if ceiling:
        ax.axhline(ceiling["recall"], color="tab:brown", linestyle="--", label="recall, evidence ceiling")
    for target, color in ((0.99, "tab:blue"), (0.95, "tab:orange")):  # the precision and recall targets
        ax.axhline(target, color=color, linestyle=":", linewidth=1)
    ax.set_ylim(0, 1.02)
    ax.set_xticks([r["hops"] for r in default])
    ax.legend(loc="lower right", fontsize=8)
    save(fig, "accuracy_hops")
    fig, ax = _figure(plt, "Largest customer against guards", "identifiers in the largest resolved customer (log)")
    rows = [r for r in accuracy["runs"] if r["guards"] != "evidence ceiling" and (r["guards"] != "default" or r["hops"] == 3)]
    bars = ax.barh([r["guards"] for r in rows], [r["largest_customer"] for r in rows], color="tab:blue")
    ax.bar_label(bars, [f"{r['largest_customer']:,}" for r in rows], padding=3, fontsize=8)
    ax.set_xscale("log")
    save(fig, "largest_customer")


def _plot_resolve(plt, resolve: dict, save) -> None:
    fig, ax = _figure(plt, "Resolve latency against load", "concurrent clients (closed loop)", "latency ms (log)",
                      log2_x=True)
    for backend, measured in resolve["backends"].items():
        rows = measured["levels"]
        x = [r["concurrency"] for r in rows]
        line, = ax.plot(x, [r["p99_ms"] for r in rows], "o-", label=f"{backend} p99")
        ax.plot(x, [r["p95_ms"] for r in rows], "s:", color=line.get_color(), label=f"{backend} p95")
        ax.plot(x, [r["p50_ms"] for r in rows], "^--", color=line.get_color(), label=f"{backend} p50")
    ax.set_yscale("log")
    ax.legend(fontsize=7, ncol=3)
    save(fig, "resolve")


def _plot_ingest(plt, ingest: dict, save) -> None:
    fig, ax = _figure(plt, "Ingest throughput through RPC", "concurrent clients", "events/s", log2_x=True)
    for backend, measured in ingest["backends"].items():
        rows = measured["levels"]
        ax.plot([r["concurrency"] for r in rows], [r["events_per_second"] for r in rows], "o-", label=backend)
    ax.legend(fontsize=8)
    save(fig, "ingest")


def plot_all(results: dict[str, dict], directory: Path) -> dict[str, str]:
    """Write the PNGs next to the JSON; name -> path relative to docs/."""
    plt = _pyplot()
    made: dict[str, str] = {}

    def save(fig, name: str) -> None:
        fig.tight_layout()
        fig.savefig(directory / f"{name}.png", dpi=100)
        plt.close(fig)
        made[name] = f"benchmarks/{name}.png"

    for name, plot in (("accuracy", _plot_accuracy), ("resolve", _plot_resolve), ("ingest", _plot_ingest)):
        if name in results:
            plot(plt, results[name], save)
    return made


def generated_section(directory: Path, plots: bool) -> str:
    results = {name: r for name in ("accuracy", "ingest", "resolve") if (r := _merged(directory, name))}
    made = plot_all(results, directory) if plots and results else {}
    lines: list[str] = []
    for name, section in (("accuracy", accuracy_section), ("ingest", ingest_section), ("resolve", resolve_section)):
        if name in results:
            lines += section(results[name], made)
        else:
            lines += [f"### {name.capitalize()}", "", f"No results yet: run `python benchmarks/{name}.py`.", ""]
    return "\n".join(lines).rstrip() + "\n"


def render(page: Path = _PAGE, directory: Path = RESULTS, plots: bool = True) -> str:
    text = page.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{page} has no {BEGIN!r} ... {END!r} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    rendered = f"{head}{BEGIN}\n\n{generated_section(directory, plots)}\n{END}{tail}"
    page.write_text(rendered)
    return rendered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-plots", dest="plots", action="store_false", help="tables only")
    parser.add_argument("--page", type=Path, default=_PAGE)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    render(args.page, args.results, args.plots)
    print(f"rendered {args.page}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
