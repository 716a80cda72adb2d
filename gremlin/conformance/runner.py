"""Running every scenario of a directory of .feature files and reporting the outcomes."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from .backends import open_backend
from .coresteps import uses_only_core_steps
from .gherkin import GherkinError, parse_feature_file
from .scenario import FAILED, PASSED, SKIPPED, ScenarioRunner

__all__ = [
    "ScenarioResult", "Report", "run", "find_feature_files", "DEFAULT_FEATURES_DIR", "DEFAULT_DATA_DIR",
]

_SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "tinkerpop"
#: ``../shared/tinkerpop/features`` and ``.../data`` relative to the repository root.
DEFAULT_FEATURES_DIR = _SHARED / "features"
DEFAULT_DATA_DIR = _SHARED / "data"


@dataclass
class ScenarioResult:
    name: str
    file: str
    outcome: str
    reason: str = ""
    line: int = 0
    #: whether the traversal uses only the core steps (see coresteps.py)
    core: bool = False


@dataclass
class Report:
    results: list[ScenarioResult] = field(default_factory=list)

    def _count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def passed(self) -> int:
        return self._count(PASSED)

    @property
    def failed(self) -> int:
        return self._count(FAILED)

    @property
    def skipped(self) -> int:
        return self._count(SKIPPED)

    def by_file(self) -> dict[str, list[ScenarioResult]]:
        files: dict[str, list[ScenarioResult]] = {}
        for result in self.results:
            files.setdefault(result.file, []).append(result)
        return files

    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"

    def core_summary(self) -> str:
        """The pass rate over the scenarios whose traversal uses only the core steps."""
        core = outcome_counts([r for r in self.results if r.core])
        total = sum(core.values())
        rate = f"{100 * core[PASSED] / total:.1f}%" if total else "n/a"
        return (f"core-step scenarios: {core[PASSED]} passed of {total} ({rate}); "
                f"{core[FAILED]} failed, {core[SKIPPED]} skipped")

    def to_json(self) -> str:
        core = [r for r in self.results if r.core]
        return json.dumps({"passed": self.passed, "failed": self.failed, "skipped": self.skipped,
                           "core_passed": sum(1 for r in core if r.outcome == PASSED), "core_total": len(core),
                           "scenarios": [asdict(r) for r in self.results]}, indent=2)


def find_feature_files(features_dir: str | Path) -> list[Path]:
    """Every .feature file under ``features_dir`` (or the file itself), in a stable order."""
    root = Path(features_dir)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"no such directory of scenarios: {root}")
    return sorted(root.rglob("*.feature"))


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix() if root.is_dir() else path.name
    except ValueError:
        return path.as_posix()


def run(features_dir: str | Path = DEFAULT_FEATURES_DIR, url: str = "memory://", *,
        filter: str | None = None, data_dir: str | Path = DEFAULT_DATA_DIR,
        timeout_ms: int | None = 30_000,
        on_file: Callable[[str, list[ScenarioResult]], None] | None = None) -> Report:
    """Run the scenarios under ``features_dir`` against the backend at ``url``.

    ``filter`` keeps scenarios whose name or file path contains it; ``on_file`` is called
    with each file's results as soon as the file is done."""
    root = Path(features_dir)
    files = find_feature_files(root)
    report = Report()
    backend = open_backend(url, data_dir)
    runner = ScenarioRunner(backend, timeout_ms=timeout_ms)
    try:
        for path in files:
            name = _relative(path, root)
            results: list[ScenarioResult] = []
            try:
                feature = parse_feature_file(path)
            except (GherkinError, UnicodeDecodeError) as error:
                results.append(ScenarioResult("<feature file>", name, FAILED, f"cannot parse: {error}"))
            else:
                for scenario in feature.scenarios:
                    if filter and filter not in scenario.name and filter not in name:
                        continue
                    outcome = runner.run(scenario)
                    results.append(ScenarioResult(scenario.name, name, outcome.outcome, outcome.reason,
                                                  scenario.line, uses_only_core_steps(scenario)))
            report.results.extend(results)
            if on_file is not None and results:
                on_file(name, results)
    finally:
        backend.close()
    return report


def outcome_counts(results: list[ScenarioResult]) -> Counter:
    return Counter(r.outcome for r in results)
