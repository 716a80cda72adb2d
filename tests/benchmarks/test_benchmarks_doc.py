"""docs/benchmarks.md names only scripts, results files and plots that exist, and every section
that another file cites by name (docs/benchmarks.md, "Section") is still one of its headings."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "benchmarks.md"
# where a citation of a section can be: the docs, the code and the benchmarks
CITING = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
          *sorted(path for package in ("identity", "gremlin", "benchmarks", "tests")
                  for path in (ROOT / package).rglob("*.py") if path != Path(__file__).resolve())]


def _page() -> str:
    return PAGE.read_text(encoding="utf-8")


def _exists(path: Path) -> bool:
    """A path, or a glob pattern (``memory-*.json``) that matches at least one file."""
    return any(path.parent.glob(path.name)) if "*" in path.name else path.exists()


def test_every_script_named_exists() -> None:
    missing = []
    for name in set(re.findall(r"(?<![\w/])\w[\w/]*\.py\b", _page())):  # not /tmp/... (another checkout)
        # a bare name is a benchmark script (the page writes `durable_cost.py` beside
        # `benchmarks/quick_identity.py`); a path is from the repository's root
        path = ROOT / name if "/" in name else ROOT / "benchmarks" / name
        if not path.exists():
            missing.append(name)
    assert not missing, f"docs/benchmarks.md names scripts that do not exist: {sorted(missing)}"


def test_every_results_file_named_exists() -> None:
    missing = []
    for name in set(re.findall(r"(?<![\w/])[\w.*-][\w./*-]*\.json\b", _page())):  # not /tmp/...
        # docs/... from the root; benchmarks/... and benchmarks-... (the results column) from
        # docs/; a bare name is a file of docs/benchmarks/
        if name.startswith("docs/"):
            path = ROOT / name
        elif name.startswith(("benchmarks/", "benchmarks-")):
            path = ROOT / "docs" / name
        else:
            path = ROOT / "docs" / "benchmarks" / name
        if not _exists(path):
            missing.append(name)
    assert not missing, f"docs/benchmarks.md names results files that do not exist: {sorted(missing)}"


def test_every_plot_shown_exists() -> None:
    plots = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", _page())
    assert [plot for plot in plots if not (PAGE.parent / plot).exists()] == []


def test_every_section_cited_elsewhere_is_a_heading() -> None:
    headings = [line.lstrip("#").strip() for line in _page().splitlines() if line.startswith("#")]
    cited = set()
    for path in CITING:
        # a citation may run over a line break, in a comment too
        text = re.sub(r"\s*\n\s*(#\s*)?", " ", path.read_text(encoding="utf-8"))
        cited.update((path.relative_to(ROOT).as_posix(), section)
                     for section in re.findall(r'docs/benchmarks\.md, "([^"]+)"', text))
    assert cited, "no citation found: the pattern no longer matches how the docs cite sections"
    dangling = sorted((where, section) for where, section in cited
                      if not any(heading.startswith(section) for heading in headings))
    assert not dangling, f"sections cited but not in docs/benchmarks.md: {dangling}"
