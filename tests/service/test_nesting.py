"""identity.service.rpc.nesting: the depth bound agrees with the parsed value's depth, whatever strings
(brackets, quotes, backslashes inside them) and whatever malformed text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.service.rpc.nesting import brackets, too_deep

_tricky = st.text(st.sampled_from('[]{}"\\ab,:'), max_size=8)
_values = st.recursive(st.none() | st.integers() | _tricky,
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_tricky, inner, max_size=3),
                       max_leaves=30)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@settings(max_examples=400, deadline=None)
@given(_values, st.integers(min_value=0, max_value=8), st.booleans())
def test_the_bound_is_the_parsed_depth(value: Any, limit: int, spaced: bool) -> None:
    text = json.dumps(value, indent=1 if spaced else None).encode()
    assert too_deep(text, limit) == (_depth(value) > limit)


def test_brackets_inside_strings_do_not_count() -> None:
    assert brackets(json.dumps({"a[": ['x"[{', "\\", "]}\\\\"], "b": [[1]]}).encode()) == b"{[][[]]}"


@pytest.mark.parametrize("text, deep", [
    (b"[" * 2000 + b"]" * 2000, True),         # the 4 KB body
    (b"[" * 33 + b"]" * 33, True), (b"[" * 32 + b"]" * 32, False),
    (b"[" * 40 + b"}", True),                  # malformed, but a parser would recurse 40 deep first
    (b"[" * 10 + b"}" + b"[" * 40, False),     # a parser stops at the '}' 10 deep
    (b"]" * 100, False), (b"[}" * 1000, False), (b'"' + b"[" * 100, False),
    (b"[]" * 500_000 + b"[", False),
])
def test_malformed_texts_are_bounded_by_how_deep_a_parser_would_go(text: bytes, deep: bool) -> None:
    assert too_deep(text, 32) is deep
