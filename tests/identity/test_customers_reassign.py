"""customers.reassign decides ids from what the customers are, never from the order it is handed
them in: that order comes from set iteration, so from Python's string hash seed, and two processes
given the same events must assign the same ids. A walk that stops short (``max_hops`` 0 or 1)
sees one customer as several parts carrying the same id: those parts tie on every key but their
members."""

from __future__ import annotations

from itertools import count, permutations

import pytest

from identity.domain import model
from identity.domain.customers import Mint, reassign

TENANT = "acme"
NAME = "c-" + "a" * 24  # the id the parts all carry


def _props(*vertices: str) -> dict[str, dict]:
    """Identifiers that all carry NAME (issued at 1000), created in the order given."""
    return {v: {"id": v, model.CID: NAME, model.SINCE: 1000, "created": 1000 + n, "degree": 1}
            for n, v in enumerate(vertices)}


def _mint() -> Mint:
    stamps = count(5000)
    return Mint("acme:event:cause", lambda: next(stamps))


def _every_order(props: dict, before: list[set[str]], after: list[set[str]], generic: set[str]) -> list:
    """reassign's answer for every order of ``before`` and of ``after``."""
    return [reassign(TENANT, props, list(b), list(a), generic, _mint())
            for b in permutations(before) for a in permutations(after)]


def test_parts_of_one_customer_turned_generic_leave_its_id_with_the_oldest_whatever_their_order() -> None:
    # both seen alone (max_hops 0), both turned generic in one event: one keeps the id, one gets a new one
    props = _props("acme:email:a", "acme:phone:b")
    answers = _every_order(props, [{"acme:email:a"}, {"acme:phone:b"}], [], {"acme:email:a", "acme:phone:b"})
    fresh = (model.fresh_customer_id(TENANT, "acme:phone:b", "acme:event:cause"), 5000)
    assert [answer.carry for answer in answers] == [{"acme:phone:b": fresh}] * len(answers)


@pytest.mark.parametrize("after", [[{"acme:email:a"}, {"acme:phone:b", "acme:ip:c"}],
                                   [{"acme:email:a", "acme:ip:c"}, {"acme:phone:b"}]])
def test_parts_of_one_customer_split_apart_leave_its_id_with_the_larger_whatever_their_order(after) -> None:
    props = _props("acme:email:a", "acme:phone:b", "acme:ip:c")
    answers = _every_order(props, [{"acme:email:a"}, {"acme:phone:b", "acme:ip:c"}], after, set())
    larger = max(after, key=len)
    smaller = min(after, key=len)
    assert all(answer == answers[0] for answer in answers)
    assert set(answers[0].carry) == smaller and not answers[0].retire and not answers[0].dead
    assert not larger & set(answers[0].carry)
