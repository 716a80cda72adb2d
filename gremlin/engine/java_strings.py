"""Java's String where Python's str answers differently, for the string steps: lengths and positions
count UTF-16 code units (an emoji is two: ``length()`` of "😀" is 2), and whitespace is
Character.isWhitespace's, which leaves out the no-break spaces (U+00A0, U+2007, U+202F) and U+0085
that Python's ``str.isspace()`` takes in (``trim()``, ``split()`` without a separator); strings order by
their UTF-16 units (String.compareTo), so a character outside the BMP (a surrogate pair, from U+D800)
comes before U+E000-U+FFFF, where Python's code points put it after."""

from __future__ import annotations

import re

__all__ = ["JAVA_WHITESPACE", "length", "substring_units", "split_at_whitespace", "compare"]

#: what str.isspace() takes, less U+0085, U+00A0, U+2007 and U+202F (the test checks it against Python's)
JAVA_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                   "\u2008\u2009\u200a\u2028\u2029\u205f\u3000")
_WHITESPACE_RUN = re.compile(f"[{re.escape(JAVA_WHITESPACE)}]+")


def _astral(value: str) -> bool:
    """Whether some character of ``value`` is two UTF-16 code units (outside the BMP)."""
    return not value.isascii() and max(value) > "\uffff"


def length(value: str) -> int:
    return len(value.encode("utf-16-le", "surrogatepass")) // 2 if _astral(value) else len(value)


def substring_units(value: str, start: int, end: int) -> str:
    """``value[start:end]`` by UTF-16 code units; half of a split pair reads as "?", as Java's
    encoder writes a lone surrogate."""
    if not _astral(value):
        return value[start:end]
    units = value.encode("utf-16-le", "surrogatepass")[2 * start:2 * end]
    return units.decode("utf-16-le", "surrogatepass").encode("utf-8", "replace").decode("utf-8")


def split_at_whitespace(value: str) -> list[str]:
    return [piece for piece in _WHITESPACE_RUN.split(value) if piece]


def compare(a: str, b: str) -> int:
    """String.compareTo's sign. UTF-16 units order two strings otherwise than code points only
    where, at the first difference, one character is outside the BMP and the other in
    U+E000-U+FFFF: never when either string is ASCII."""
    if not (a.isascii() or b.isascii()) and (_astral(a) or _astral(b)):
        a, b = a.encode("utf-16-be", "surrogatepass"), b.encode("utf-16-be", "surrogatepass")
    return (a > b) - (a < b)
