"""``python -m gremlin.conformance``: run TinkerPop's Gherkin scenarios and report.

Exit status 1 when a scenario gives a wrong answer (or fails otherwise), or when ``--floor N``
is given and fewer than N scenarios pass; 0 otherwise."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import Sequence

from .reference import ReferenceUnavailable
from .runner import DEFAULT_DATA_DIR, DEFAULT_FEATURES_DIR, ScenarioResult, outcome_counts, run
from .scenario import FAILED, SKIPPED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gremlin.conformance", description=__doc__)
    parser.add_argument("features", nargs="?", default=str(DEFAULT_FEATURES_DIR),
                        help=f"directory searched recursively for .feature files (default {DEFAULT_FEATURES_DIR})")
    parser.add_argument("--url", default="memory://",
                        help="backend: memory:// (default), endpoint (this package's WebSocket endpoint, "
                             "started here), reference (a real Gremlin Server with TinkerPop's test "
                             "configuration, started here; reference?port=N), ws://host:port/gremlin; "
                             "other graphs' data is REPLACED")
    parser.add_argument("--data", default=str(DEFAULT_DATA_DIR),
                        help=f"directory of the standard graphs' GraphSON (default {DEFAULT_DATA_DIR})")
    parser.add_argument("--filter", help="only scenarios whose name or file path contains this text")
    parser.add_argument("--verbose", "-v", action="store_true", help="print the reason for each failure and skip")
    parser.add_argument("--floor", type=int, help="also fail when fewer than N scenarios pass")
    parser.add_argument("--known-failures", metavar="FILE",
                        help="scenario names (one per line, '#' comments) whose failure is already recorded; "
                             "only a failure not listed there fails the run")
    parser.add_argument("--json", metavar="FILE", help="write every scenario's outcome and reason to FILE")
    parser.add_argument("--core-steps", action="store_true",
                        help="also report the pass rate over scenarios that use only the core steps "
                             "(the steps every backend of the identity service must support)")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                        help="evaluationTimeout of each traversal (default 30; 0 for none)")
    return parser


def _print_file(verbose: bool, name: str, results: list[ScenarioResult]) -> None:
    counts = outcome_counts(results)
    print(f"{name}: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    if verbose:
        for result in results:
            if result.outcome in (FAILED, SKIPPED):
                print(f"    {result.outcome.upper()} {result.name}: {result.reason}")
    sys.stdout.flush()


def _known_failures(path: str | None) -> set[str]:
    if not path:
        return set()
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return {line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # a bounded run (timeout(1) sends SIGTERM) still stops a server it started: exit through finally
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    # the driver logs every error response; errors are this runner's business and it reports them
    logging.getLogger("gremlinpython").setLevel(logging.CRITICAL)
    try:
        report = run(args.features, args.url, filter=args.filter, data_dir=args.data,
                     timeout_ms=int(args.timeout * 1000) or None,
                     on_file=lambda name, results: _print_file(args.verbose, name, results))
    except (FileNotFoundError, ReferenceUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).write_text(report.to_json() + "\n", encoding="utf-8")
    print(report.summary())
    if args.core_steps:
        print(report.core_summary())
    known = _known_failures(args.known_failures)
    unexpected = [r for r in report.results if r.outcome == "failed" and r.name not in known]
    if unexpected:
        if known:
            print(f"{len(unexpected)} failures not in {args.known_failures}:", file=sys.stderr)
            for result in unexpected:
                print(f"  {result.file}: {result.name}: {result.reason}", file=sys.stderr)
        return 1
    fixed = sorted({r.name for r in report.results if r.outcome == "passed"} & known)
    if fixed:
        print(f"{len(fixed)} scenarios in {args.known_failures} pass now; remove them from it:", file=sys.stderr)
        for name in fixed:
            print(f"  {name}", file=sys.stderr)
    if args.floor is not None and report.passed < args.floor:
        print(f"only {report.passed} passed, below the floor of {args.floor}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
