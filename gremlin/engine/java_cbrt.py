"""Java's Math.cbrt, which math() ('cbrt(_)', exp4j's) calls: fdlibm's cube root (StrictMath), bit for
bit. It is within 0.667 ulps, not correctly rounded, so neither ``x ** (1/3)`` nor Python's libm
``math.cbrt`` gives the same doubles (``cbrt(5)`` is 1.709975946676697 in Java, ...968 in both)."""

from __future__ import annotations

import struct

__all__ = ["cbrt"]

# fdlibm's constants: the exponent bias terms for the first guess, and the rational approximation's
_B1, _B2 = 715094163, 696219795  # (682 - 0.03306235651) * 2**20, (664 - 0.03306235651) * 2**20
_C, _D, _E, _F, _G = (5.42857142857142815906e-01, -7.05306122448979611050e-01, 1.41428571428571436819e+00,
                      1.60714285714285720630e+00, 3.57142857142857150787e-01)


def _words(x: float) -> tuple[int, int]:
    """A double's high word (signed, as C's int) and low word."""
    low, high = struct.unpack("<Ii", struct.pack("<d", x))
    return high, low


def _double(high: int, low: int) -> float:
    return struct.unpack("<d", struct.pack("<Ii", low, high))[0]


def cbrt(x: float) -> float:
    high, low = _words(x)
    negative = high < 0
    high &= 0x7FFFFFFF
    if high >= 0x7FF00000:
        return x + x  # NaN and the infinities are their own cube roots
    if high | low == 0:
        return x  # so are the zeros, with their sign
    x = abs(x)
    if high < 0x00100000:  # a subnormal: scaled by 2**54 for the first guess
        t = _double(0x43500000, 0) * x
        t = _double(_words(t)[0] // 3 + _B2, 0)
    else:
        t = _double(high // 3 + _B1, 0)
    # to 23 bits
    r = t * t / x
    s = _C + r * t
    t *= _G + _F / (s + _E + _D / s)
    # chopped to 20 bits and made larger than the root, then one Newton step to 53 bits
    t = _double(_words(t)[0] + 1, 0)
    s = t * t
    r = x / s
    r = (r - t) / (t + t + r)
    t = t + t * r
    return -t if negative else t
