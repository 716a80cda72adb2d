"""Java's String semantics the string steps follow (gremlin/engine/java_strings.py) and Java's Math
functions math() follows (gremlin/engine/java_cbrt.py)."""

from __future__ import annotations

import sys

from gremlin.engine import java_strings
from gremlin.engine.java_cbrt import cbrt


def test_java_whitespace_is_pythons_without_the_no_break_spaces():
    pythons = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    assert java_strings.JAVA_WHITESPACE == "".join(c for c in pythons if c not in "\u0085\u00a0\u2007\u202f")
    assert java_strings.split_at_whitespace("a\u00a0b \u2003c") == ["a\u00a0b", "c"]


def test_lengths_and_positions_are_utf16_units():
    assert java_strings.length("ab") == 2
    assert java_strings.length("\U0001F600a") == 3
    assert java_strings.substring_units("\U0001F600a", 0, 2) == "\U0001F600"
    assert java_strings.substring_units("\U0001F600a", 1, 3) == "?a"  # half a pair: Java's encoder writes "?"
    assert java_strings.substring_units("h\u00e9llo", 1, 3) == "\u00e9l"


def test_cbrt_is_fdlibms():
    assert cbrt(5.0) == 1.709975946676697  # Python's math.cbrt: 1.7099759466766968
    assert cbrt(-27.0) == -3.0 and cbrt(1e300) == 1e100
    assert cbrt(-0.0) == 0.0 and str(cbrt(-0.0)) == "-0.0"
    assert cbrt(float("inf")) == float("inf") and cbrt(float("nan")) != cbrt(float("nan"))
    assert cbrt(1e-310) == 4.641588833612774e-104  # a subnormal
