"""The Java collection orders a Gremlin Server's answers depend on (gremlin/engine/java_order.py)."""

from __future__ import annotations

from gremlin.engine.java_order import hash_order, java_sort, string_hash


def test_string_hash_is_javas():
    assert string_hash("a") == 97
    assert string_hash("hello") == 99162322
    assert string_hash("name") == 3373707
    assert string_hash("Aa") == string_hash("BB") == 2112
    assert string_hash("\u00e9t\u00e9") == 233 * 31 ** 2 + 116 * 31 + 233  # UTF-16 code units, not bytes
    assert string_hash("\U0001F600") == (0xD83D * 31 + 0xDE00)  # a surrogate pair is two units
    assert string_hash("a" * 40) == (sum(97 * 31 ** i for i in range(40)) & 0xFFFFFFFF)


def test_hash_order_is_a_hashsets():
    # new HashSet<>(List.of(...)) of single letters iterates by code point mod 16
    assert hash_order(["a", "b", "p", "c"]) == ["p", "a", "b", "c"]
    # colliding keys keep their insertion order
    assert hash_order(["BB", "Aa"]) == ["BB", "Aa"]
    assert hash_order(["Aa", "BB"]) == ["Aa", "BB"]
    # past 12 keys the table has 32 buckets: 'a' (97 % 32 = 1) then 'p' (112 % 32 = 16)
    keys = ["p", "a"] + [chr(c) for c in range(0x41, 0x41 + 11)]
    order = hash_order(keys)
    assert order.index("a") < order.index("p")


def test_java_sort_places_ties_as_collections_sort():
    def by_length(a: str, b: str) -> int:
        return len(a) - len(b)

    assert java_sort(["bb", "a", "cc", "d"], by_length) == ["a", "d", "bb", "cc"]
    # a descending leading run is reversed first, so equal items keep their order within it
    assert java_sort(["ccc", "bb", "a"], by_length) == ["a", "bb", "ccc"]

    def only_b_before_c(a: str, b: str) -> int:  # not a consistent order
        return -1 if (a, b) == ("b", "c") else 1 if (a, b) == ("c", "b") else 0

    # TimSort takes the longest leading run as sorted: every neighbour here compares 0 or less
    assert java_sort(["c", "a", "b"], only_b_before_c) == ["c", "a", "b"]
    assert java_sort(["c", "b", "a"], only_b_before_c) == ["b", "c", "a"]
