"""Random draws for coin(), sample() and order().by(shuffle).

Under SeedStrategy each such step draws from its own java.util.Random seeded with the strategy's
seed, as TinkerPop's steps do, so a seeded traversal picks what it picks on a Gremlin Server (given
the traversers arrive in the same order). Unseeded, Python's generator serves.
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["JavaRandom", "step_random"]


class JavaRandom:
    """java.util.Random's linear congruential generator: the same seed gives the same draws."""

    _MULTIPLIER = 0x5DEECE66D
    _MASK = (1 << 48) - 1

    def __init__(self, seed: int):
        self._seed = (seed ^ self._MULTIPLIER) & self._MASK

    def _next(self, bits: int) -> int:
        self._seed = (self._seed * self._MULTIPLIER + 0xB) & self._MASK
        return self._seed >> (48 - bits)

    def next_double(self) -> float:
        return ((self._next(26) << 27) + self._next(27)) * (1.0 / (1 << 53))

    def next_int(self, bound: int) -> int:
        bits = self._next(31)
        if bound & (bound - 1) == 0:  # a power of two
            return (bound * bits) >> 31
        while True:
            value = bits % bound
            if bits - value + bound - 1 < 1 << 31:
                return value
            bits = self._next(31)

    def shuffle(self, items: list) -> None:
        """Collections.shuffle(list, random)."""
        for i in range(len(items), 1, -1):
            j = self.next_int(i)
            items[i - 1], items[j] = items[j], items[i - 1]


class _PythonRandom:
    """The same calls, on Python's generator."""

    @staticmethod
    def next_double() -> float:
        return random.random()

    @staticmethod
    def next_int(bound: int) -> int:
        return random.randrange(bound)

    @staticmethod
    def shuffle(items: list) -> None:
        random.shuffle(items)


_UNSEEDED = _PythonRandom()


def step_random(ctx: Any, step: Any) -> JavaRandom | _PythonRandom:
    """The generator ``step`` draws from for the rest of this traversal."""
    if ctx.seed is None:
        return _UNSEEDED
    return ctx.step_state.setdefault(("random", id(step)), JavaRandom(ctx.seed))
