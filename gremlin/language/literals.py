"""Conversion of Gremlin literal text to the Python values gremlinpython would send.

Number typing follows gremlin-language's literal rules (a suffix picks the Java type, an
unsuffixed integer is the smallest of int/long/BigInteger that holds it) mapped onto
gremlinpython's wrappers: ``int`` (Integer), ``statics.long``, ``statics.short``,
``statics.SingleByte``, ``statics.bigint``.

One deliberate departure: an unsuffixed decimal such as ``1.5`` is a Python ``float`` (a Java
Double), not a BigDecimal as the Java grammar makes it. That is what a Python user writing
the same traversal sends, what gremlinpython's own translation of the TinkerPop scenarios
uses, and it keeps stored property values serialisable by GraphBinary, which has no writer
for ``decimal.Decimal``. Write ``1.5m`` for a BigDecimal (``decimal.Decimal``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from gremlin_python.statics import SingleByte, bigint, long, short

__all__ = ["number_value", "unescape_string", "datetime_value"]

_INT_RANGES = {
    "b": (SingleByte, 8, "byte"),
    "s": (short, 16, "short"),
    "i": (int, 32, "int"),
    "l": (long, 64, "long"),
}


def _fits(value: int, bits: int) -> bool:
    return -(1 << (bits - 1)) <= value < (1 << (bits - 1))


def _integer(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits[:2] in ("0x", "0X"):
        return sign * int(digits[2:], 16)
    if len(digits) > 1 and digits.startswith("0"):
        try:
            return sign * int(digits, 8)  # Java's Integer.decode reads a leading 0 as octal
        except ValueError:
            raise ValueError(f"malformed octal number {text!r}") from None
    return sign * int(digits)


def number_value(text: str) -> object:
    """The Python value of a numeric literal token, e.g. ``"12l"`` -> ``long(12)``."""
    clean = text.replace("_", "")
    lowered = clean.lower()
    is_hex = "0x" in lowered
    suffix = lowered[-1]
    if not is_hex and ("." in lowered or "e" in lowered or suffix in "fdm"):
        body = clean[:-1] if suffix in "fdm" else clean
        if suffix == "m":
            try:
                return Decimal(body)
            except InvalidOperation:
                raise ValueError(f"malformed decimal {text!r}") from None
        return float(body)
    # A hex literal's trailing b/d/f is a digit, not a type suffix.
    if suffix in "bsnil" and not (is_hex and suffix == "b"):
        value = _integer(clean[:-1])
        if suffix == "n":
            return bigint(value)
        kind, bits, name = _INT_RANGES[suffix]
        if not _fits(value, bits):
            raise ValueError(f"{text!r} is out of range for a {name}")
        return kind(value)
    value = _integer(clean)
    if _fits(value, 32):
        return value
    if _fits(value, 64):
        return long(value)
    return bigint(value)


_SIMPLE_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "'": "'", "\\": "\\"}
_OCTAL_ESCAPE = re.compile(r"[0-3][0-7]{0,2}|[4-7][0-7]?")
_UNICODE_ESCAPE = re.compile(r"u+([0-9a-fA-F]{4})")


def unescape_string(body: str) -> str:
    """Resolve Java escapes (``\\n``, ``\\'``, octal, ``\\uXXXX``) in a string literal's body."""
    out: list[str] = []
    pos = 0
    while True:
        slash = body.find("\\", pos)
        if slash < 0:
            out.append(body[pos:])
            return "".join(out)
        out.append(body[pos:slash])
        pos = slash + 1
        ch = body[pos:pos + 1]
        if ch in _SIMPLE_ESCAPES and ch:
            out.append(_SIMPLE_ESCAPES[ch])
            pos += 1
        elif ch == "\n" or body.startswith("\r\n", pos):  # a backslash at line end joins lines
            pos += 1 if ch == "\n" else 2
        elif (unicode := _UNICODE_ESCAPE.match(body, pos)) is not None:
            out.append(chr(int(unicode.group(1), 16)))
            pos = unicode.end()
        elif (octal := _OCTAL_ESCAPE.match(body, pos)) is not None:
            out.append(chr(int(octal.group(0), 8)))
            pos = octal.end()
        else:
            raise ValueError(f"invalid escape sequence '\\{ch}' in string")


_YEAR_MONTH = re.compile(r"(\d{4})-(\d{1,2})")


def datetime_value(text: str | None) -> datetime:
    """``datetime("...")``: an ISO-8601 date/datetime as an aware UTC datetime.

    Like gremlin-language's DatetimeHelper: a missing offset means UTC, a bare date is its
    midnight, ``YYYY-MM`` is the first of the month, and no argument is now.
    """
    if text is None:
        return datetime.now(timezone.utc)
    raw = text.strip()
    year_month = _YEAR_MONTH.fullmatch(raw)
    try:
        if year_month:
            parsed = datetime(int(year_month.group(1)), int(year_month.group(2)), 1)
        elif "T" not in raw.upper() and len(raw) <= 10:
            parsed = datetime.combine(date.fromisoformat(raw), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"datetime() cannot read {text!r}; expected ISO-8601 such as "
                         "'2020-01-01T00:00:00Z'") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
