"""How deeply a JSON text nests, bounded before any parser recurses into it.

    too_deep(body, 32)      # True when some array/object sits more than 32 levels deep

Why: Python's json parser recurses once per level, and so does everything that walks what it
returns (the schema validator, json.dumps of an error that echoes an id): 2,000 levels, a 4 KB
body, raised RecursionError and answered HTTP 500. The request's legitimate structures are at
most 7 levels deep (a batch of ingest calls: array, call, params, events, event, identifiers,
identifier).

How, at C speed (bytes methods and one regular expression, no loop over the body in Python): drop escaped backslashes
and escaped quotes, keep only quotes and brackets, drop the brackets inside strings (between a
quote and the next), then peel matched innermost pairs (``[]``, ``{}``) level by level. A pair
still there after ``limit`` peels encloses ``limit`` more levels: too deep. What is left without
a pair is malformed JSON: its parser stops at the first closing bracket left (it matches nothing
before it), having gone as deep as the peels done plus the opening brackets before that.
"""

from __future__ import annotations

import re

__all__ = ["too_deep", "brackets"]

_NOT_STRUCTURE = bytes(byte for byte in range(256) if byte not in b'"[]{}')
#: One peel: the pairs that are innermost now. (Two bytes.replace calls in a row would also take
#: a ``{}`` that the first call's removals just made, two levels in one peel.)
_INNERMOST = re.compile(rb"\[\]|\{\}")


def brackets(body: bytes) -> bytes:
    """The brackets of ``body`` outside strings, in order."""
    flat = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    # adjacent quotes enclose no bracket: dropping them keeps every bracket's side of the string
    structure = flat.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in structure:
        structure = b"".join(structure.split(b'"')[::2])
    return structure


def too_deep(body: bytes, limit: int) -> bool:
    """True when arrays and objects in ``body`` nest more than ``limit`` levels, or when a
    parser would go deeper than that before finding ``body`` malformed."""
    rest = brackets(body)
    peeled = 0
    while rest and peeled < limit:
        inner = _INNERMOST.sub(b"", rest)
        if inner == rest:
            break
        rest, peeled = inner, peeled + 1
    if not rest:
        return False
    if _INNERMOST.search(rest):  # ``limit`` peels left a pair: it held ``limit`` levels
        return True
    closes = [index for index in (rest.find(b"]"), rest.find(b"}")) if index >= 0]
    return peeled + min(closes, default=len(rest)) > limit
