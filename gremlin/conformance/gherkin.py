"""A parser for the subset of Gherkin that TinkerPop's conformance scenarios use.

Supported: ``#`` comments, tags (``@Name`` lines before ``Feature:`` or ``Scenario:``),
``Feature:`` with free-text description, ``Background:``, ``Scenario:``, ``Scenario Outline:``
with ``Examples:`` tables (expanded into one scenario per row), steps introduced by
Given/When/Then/And/But/``*``, doc strings (``\"\"\"`` or ```` ``` ````) and data tables.
Background steps are prepended to every scenario of the feature.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Step", "Scenario", "Feature", "GherkinError", "parse_feature", "parse_feature_file"]

_STEP_KEYWORDS = ("Given", "When", "Then", "And", "But", "*")
_DOC_STRING_FENCES = ('"""', "```")


class GherkinError(ValueError):
    """A .feature file this parser cannot read; the message names the file and line."""


@dataclass
class Step:
    keyword: str
    text: str
    line: int
    doc_string: str | None = None
    #: Data table rows, each a list of cell strings (the header row included).
    table: list[list[str]] | None = None

    def table_column(self, name: str = "result") -> list[str]:
        """The cells of one named column, header excluded (the first column if not named)."""
        if not self.table:
            return []
        header, *rows = self.table
        index = header.index(name) if name in header else 0
        return [row[index] if index < len(row) else "" for row in rows]


@dataclass
class Scenario:
    name: str
    line: int
    #: The feature's tags followed by the scenario's own.
    tags: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)


@dataclass
class Feature:
    name: str
    path: str
    tags: list[str] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)


@dataclass
class _Outline:
    scenario: Scenario
    examples: list[list[str]] = field(default_factory=list)


def _split_row(line: str, where: str) -> list[str]:
    """Cells of a ``| a | b |`` row, honouring the ``\\|``, ``\\\\`` and ``\\n`` escapes."""
    body = line.strip()
    if not body.endswith("|") or len(body) < 2:
        raise GherkinError(f"{where}: a table row must start and end with '|'")
    cells: list[str] = []
    current: list[str] = []
    index = 1
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            following = body[index + 1]
            current.append({"|": "|", "\\": "\\", "n": "\n"}.get(following, "\\" + following))
            index += 2
            continue
        if char == "|":
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        index += 1
    return cells


def _strip_indent(line: str, indent: int) -> str:
    """Remove up to ``indent`` leading spaces (doc strings keep deeper indentation)."""
    stripped = len(line) - len(line.lstrip(" "))
    return line[min(stripped, indent):]


class _Parser:
    def __init__(self, text: str, path: str):
        self.lines = text.splitlines()
        self.path = path
        self.index = 0
        self.pending_tags: list[str] = []
        self.feature: Feature | None = None
        self.background: list[Step] = []
        self.current: list[Step] | None = None
        self.outline: _Outline | None = None
        self.outlines: list[_Outline] = []
        self.in_examples = False

    def where(self, number: int | None = None) -> str:
        return f"{self.path}:{number if number is not None else self.index + 1}"

    def parse(self) -> Feature:
        while self.index < len(self.lines):
            raw = self.lines[self.index]
            line = raw.strip()
            number = self.index + 1
            self.index += 1
            if not line or line.startswith("#"):
                continue
            if line.startswith("@"):
                self.pending_tags.extend(tag[1:] for tag in line.split() if tag.startswith("@"))
            elif line.startswith("Feature:"):
                self.start_feature(line[len("Feature:"):].strip())
            elif line.startswith("Background:"):
                self.require_feature(number)
                self.current, self.outline, self.in_examples = self.background, None, False
            elif line.startswith(("Scenario Outline:", "Scenario Template:")):
                self.start_scenario(line.split(":", 1)[1].strip(), number, outline=True)
            elif line.startswith(("Scenario:", "Example:")):
                self.start_scenario(line.split(":", 1)[1].strip(), number, outline=False)
            elif line.startswith(("Examples:", "Scenarios:")):
                if self.outline is None:
                    raise GherkinError(f"{self.where(number)}: Examples outside a Scenario Outline")
                self.in_examples = True
                self.pending_tags = []
            elif line.startswith("|"):
                self.table_row(line, number)
            elif line.startswith(_DOC_STRING_FENCES):
                self.doc_string(raw, number)
            elif self.is_step(line):
                self.step(line, number)
            elif self.feature is not None and self.current is None:
                continue  # free-text description of the feature
            else:
                raise GherkinError(f"{self.where(number)}: cannot read {line!r}")
        if self.feature is None:
            raise GherkinError(f"{self.path}: no 'Feature:' line")
        for outline in self.outlines:
            self.expand(outline)
        return self.feature

    def start_feature(self, name: str) -> None:
        if self.feature is not None:
            raise GherkinError(f"{self.where()}: a second 'Feature:' in one file")
        self.feature = Feature(name=name, path=self.path, tags=self.pending_tags)
        self.pending_tags = []

    def require_feature(self, number: int) -> Feature:
        if self.feature is None:
            raise GherkinError(f"{self.where(number)}: expected 'Feature:' first")
        return self.feature

    def start_scenario(self, name: str, number: int, *, outline: bool) -> None:
        feature = self.require_feature(number)
        scenario = Scenario(name=name, line=number, tags=[*feature.tags, *self.pending_tags],
                            steps=list(self.background))
        self.pending_tags = []
        self.current = scenario.steps
        self.in_examples = False
        if outline:
            self.outline = _Outline(scenario)
            self.outlines.append(self.outline)
            # placeholder keeps file order; replaced by the expansion
            feature.scenarios.append(scenario)
        else:
            self.outline = None
            feature.scenarios.append(scenario)

    @staticmethod
    def is_step(line: str) -> bool:
        keyword = line.split(" ", 1)[0]
        return keyword in _STEP_KEYWORDS

    def step(self, line: str, number: int) -> None:
        if self.current is None:
            raise GherkinError(f"{self.where(number)}: a step outside any scenario")
        keyword, _, text = line.partition(" ")
        self.current.append(Step(keyword=keyword, text=text.strip(), line=number))

    def last_step(self, number: int, what: str) -> Step:
        if not self.current:
            raise GherkinError(f"{self.where(number)}: {what} without a step before it")
        return self.current[-1]

    def table_row(self, line: str, number: int) -> None:
        cells = _split_row(line, self.where(number))
        if self.in_examples and self.outline is not None:
            self.outline.examples.append(cells)
            return
        step = self.last_step(number, "a table")
        if step.table is None:
            step.table = []
        step.table.append(cells)

    def doc_string(self, raw: str, number: int) -> None:
        step = self.last_step(number, "a doc string")
        indent = len(raw) - len(raw.lstrip(" "))
        fence = raw.strip()[:3]
        body: list[str] = []
        while self.index < len(self.lines):
            line = self.lines[self.index]
            self.index += 1
            if line.strip() == fence:
                step.doc_string = "\n".join(body)
                return
            body.append(_strip_indent(line, indent))
        raise GherkinError(f"{self.where(number)}: doc string is never closed")

    def expand(self, outline: _Outline) -> None:
        assert self.feature is not None
        position = self.feature.scenarios.index(outline.scenario)
        expanded: list[Scenario] = []
        if outline.examples:
            header, *rows = outline.examples
            for row in rows:
                values = dict(zip(header, row))
                expanded.append(_substitute(outline.scenario, values))
        self.feature.scenarios[position:position + 1] = expanded


_PLACEHOLDER = re.compile(r"<([^<>]+)>")


def _substitute(template: Scenario, values: dict[str, str]) -> Scenario:
    def fill(text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)

    steps = [Step(keyword=s.keyword, text=fill(s.text), line=s.line,
                  doc_string=fill(s.doc_string) if s.doc_string is not None else None,
                  table=[[fill(cell) for cell in row] for row in s.table] if s.table is not None else None)
             for s in template.steps]
    return Scenario(name=fill(template.name), line=template.line, tags=list(template.tags), steps=steps)


def parse_feature(text: str, path: str = "<string>") -> Feature:
    """Parse the text of one .feature file; ``path`` is used in the Feature and in errors."""
    return _Parser(text, path).parse()


def parse_feature_file(path: str | Path) -> Feature:
    return parse_feature(Path(path).read_text(encoding="utf-8"), str(path))
