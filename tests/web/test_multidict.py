"""ketch.web.multidict: the `multidict` package's API, checked method by method (and against it)."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

import multidict as reference
import pytest

from ketch.web.multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

PAIRS = [("a", 1), ("b", 2), ("a", 3)]


# --- construction ---------------------------------------------------------------------------


def test_constructor_takes_pairs_mapping_multidict_and_kwargs() -> None:
    assert list(MultiDict(PAIRS).items()) == PAIRS
    assert list(MultiDict({"a": 1, "b": 2}).items()) == [("a", 1), ("b", 2)]
    assert list(MultiDict(MultiDict(PAIRS)).items()) == PAIRS
    assert list(MultiDict(MultiDictProxy(MultiDict(PAIRS))).items()) == PAIRS
    assert list(MultiDict([("a", 1)], a=2, c=3).items()) == [("a", 1), ("a", 2), ("c", 3)]
    assert list(MultiDict(iter(PAIRS)).items()) == PAIRS
    assert len(MultiDict()) == 0


def test_constructor_copies_its_argument() -> None:
    source = MultiDict(PAIRS)
    copy = MultiDict(source)
    source.add("z", 9)
    assert "z" not in copy


def test_constructor_rejects_non_pairs_and_non_str_keys() -> None:
    with pytest.raises(TypeError, match="#0 is not a"):
        MultiDict([1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="#1 is not a"):
        MultiDict([("a", 1), ("b", 2, 3)])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="keys must be str"):
        MultiDict([(1, 2)])  # type: ignore[arg-type]


def test_from_pairs_takes_the_list_without_copying() -> None:
    pairs = [("Host", "example.com"), ("Accept", "*/*")]
    headers = CIMultiDict._from_pairs(pairs)
    assert headers["host"] == "example.com"
    assert type(headers) is CIMultiDict
    assert headers._state.items is pairs


def test_multidicts_are_mutable_mappings_and_proxies_are_mappings() -> None:
    md = CIMultiDict[int]()
    assert isinstance(md, MutableMapping)
    assert isinstance(md, MultiDict)
    proxy = CIMultiDictProxy(md)
    assert isinstance(proxy, Mapping)
    assert isinstance(proxy, MultiDictProxy)
    assert not isinstance(proxy, MutableMapping)


# --- reading ----------------------------------------------------------------------------------


def test_getitem_returns_the_first_value() -> None:
    md = MultiDict(PAIRS)
    assert md["a"] == 1
    with pytest.raises(KeyError, match="'x'"):
        md["x"]


def test_get_returns_first_value_or_default() -> None:
    md = MultiDict(PAIRS)
    assert md.get("a") == 1
    assert md.get("x") is None
    assert md.get("x", 7) == 7


def test_getone_raises_without_default() -> None:
    md = MultiDict(PAIRS)
    assert md.getone("a") == 1
    assert md.getone("x", None) is None
    with pytest.raises(KeyError, match="'x'"):
        md.getone("x")


def test_getall_returns_a_fresh_list_of_every_value() -> None:
    md = MultiDict(PAIRS)
    values = md.getall("a")
    assert values == [1, 3]
    values.append(99)
    assert md.getall("a") == [1, 3]
    assert md.getall("x", []) == []
    with pytest.raises(KeyError, match="'x'"):
        md.getall("x")


def test_contains_len_and_iteration_count_duplicates() -> None:
    md = MultiDict(PAIRS)
    assert "a" in md
    assert "x" not in md
    not_a_str: object = 1
    assert not_a_str not in md
    assert len(md) == 3
    assert list(md) == ["a", "b", "a"]


def test_views_list_every_pair_in_order() -> None:
    md = MultiDict(PAIRS)
    keys, values, items = md.keys(), md.values(), md.items()
    assert list(keys) == ["a", "b", "a"]
    assert list(values) == [1, 2, 3]
    assert list(items) == PAIRS
    assert len(keys) == len(values) == len(items) == 3
    assert "a" in keys
    assert "x" not in keys
    assert 3 in values
    assert 4 not in values
    assert ("a", 3) in items
    assert ("a", 2) not in items
    assert repr(keys) == "<_KeysView('a', 'b', 'a')>"
    assert repr(values) == "<_ValuesView(1, 2, 3)>"
    assert repr(items) == "<_ItemsView('a': 1, 'b': 2, 'a': 3)>"


def test_views_are_live() -> None:
    md = MultiDict(PAIRS)
    items = md.items()
    md.add("c", 4)
    assert list(items)[-1] == ("c", 4)


def test_repr_names_the_class_and_every_pair() -> None:
    assert repr(MultiDict(PAIRS)) == "<MultiDict('a': 1, 'b': 2, 'a': 3)>"
    assert repr(CIMultiDict(A="x")) == "<CIMultiDict('A': 'x')>"
    assert repr(MultiDictProxy(MultiDict(a=1))) == "<MultiDictProxy('a': 1)>"


def test_equality_is_ordered_between_multidicts_and_by_value_with_mappings() -> None:
    assert MultiDict(PAIRS) == MultiDict(PAIRS)
    assert MultiDict(PAIRS) == MultiDictProxy(MultiDict(PAIRS))
    assert MultiDict([("a", 1), ("b", 2)]) != MultiDict([("b", 2), ("a", 1)])
    assert MultiDict(PAIRS) != MultiDict(PAIRS[:2])
    assert MultiDict(a=1) != MultiDict(a=2)
    assert CIMultiDict(A=1) == CIMultiDict(a=1)
    assert MultiDict(A=1) != MultiDict(a=1)
    assert MultiDict(a=1, b=2) == {"b": 2, "a": 1}
    assert MultiDict(a=1) != {"a": 2}
    assert MultiDict(PAIRS) != {"a": 1, "b": 2}
    assert MultiDict(a=1) != [("a", 1)]


def test_multidicts_are_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(MultiDict())
    with pytest.raises(TypeError):
        hash(MultiDictProxy(MultiDict()))


def test_copy_is_shallow_and_keeps_the_class() -> None:
    md = CIMultiDict(PAIRS)
    copy = md.copy()
    assert type(copy) is CIMultiDict
    assert copy == md
    copy.add("z", 0)
    assert "z" not in md


# --- case folding -----------------------------------------------------------------------------


def test_cimultidict_folds_case_on_lookup_but_keeps_spelling() -> None:
    md = CIMultiDict([("Content-Type", "text/html"), ("SET-COOKIE", "a"), ("set-cookie", "b")])
    assert md["content-type"] == "text/html"
    assert md.get("CONTENT-TYPE") == "text/html"
    assert md.getone("Content-type") == "text/html"
    assert md.getall("Set-Cookie") == ["a", "b"]
    assert "CoNtEnT-TyPe" in md
    assert "content-type" in md.keys()  # noqa: SIM118  # the view's own __contains__
    assert list(md) == ["Content-Type", "SET-COOKIE", "set-cookie"]


def test_multidict_is_case_sensitive() -> None:
    md = MultiDict([("Key", 1)])
    assert "key" not in md
    assert md.get("key") is None


def test_cimultidict_mutations_fold_case() -> None:
    md = CIMultiDict([("Accept", "a"), ("Host", "h"), ("ACCEPT", "b")])
    md["accept"] = "c"
    assert list(md.items()) == [("accept", "c"), ("Host", "h")]
    del md["HOST"]
    assert list(md.items()) == [("accept", "c")]
    md.add("X-A", "1")
    md.add("x-a", "2")
    assert md.popone("X-a") == "1"
    assert md.popall("X-A") == ["2"]


# --- mutation ---------------------------------------------------------------------------------


def test_add_appends_and_keeps_a_built_index_current() -> None:
    md = MultiDict[int]()
    md.add("a", 1)
    assert md["a"] == 1  # builds the index
    md.add("a", 2)
    md.add("b", 3)
    assert md.getall("a") == [1, 2]
    assert md["b"] == 3
    with pytest.raises(TypeError, match="keys must be str"):
        md.add(5, 1)  # type: ignore[arg-type]


def test_setitem_replaces_all_values_at_the_first_position() -> None:
    md = MultiDict(PAIRS)
    md["a"] = 9
    assert list(md.items()) == [("a", 9), ("b", 2)]
    md["c"] = 5
    assert list(md.items()) == [("a", 9), ("b", 2), ("c", 5)]


def test_delitem_removes_every_value() -> None:
    md = MultiDict(PAIRS)
    del md["a"]
    assert list(md.items()) == [("b", 2)]
    with pytest.raises(KeyError, match="'a'"):
        del md["a"]


def test_setdefault_returns_existing_first_value_or_adds() -> None:
    md = MultiDict(PAIRS)
    assert md.setdefault("a", 7) == 1
    assert md.setdefault("c", 7) == 7
    assert md.getall("c") == [7]
    none_md = MultiDict[int | None]()
    assert none_md.setdefault("x") is None
    assert list(none_md.items()) == [("x", None)]


def test_pop_removes_every_value_and_returns_the_first() -> None:
    md = MultiDict(PAIRS)
    assert md.pop("a") == 1
    assert list(md.items()) == [("b", 2)]
    assert md.pop("a", None) is None
    with pytest.raises(KeyError, match="'a'"):
        md.pop("a")


def test_popone_removes_only_the_first_value() -> None:
    md = MultiDict(PAIRS)
    assert md.popone("a") == 1
    assert list(md.items()) == [("b", 2), ("a", 3)]
    assert md["a"] == 3
    assert md.popone("x", 0) == 0
    with pytest.raises(KeyError, match="'x'"):
        md.popone("x")


def test_popall_removes_and_returns_every_value() -> None:
    md = MultiDict(PAIRS)
    assert md.popall("a") == [1, 3]
    assert "a" not in md
    assert md.popall("a", []) == []
    with pytest.raises(KeyError, match="'a'"):
        md.popall("a")


def test_popitem_removes_the_last_pair() -> None:
    md = MultiDict(PAIRS)
    assert md.popitem() == ("a", 3)
    assert md.getall("a") == [1]
    md.clear()
    with pytest.raises(KeyError, match="empty"):
        md.popitem()


def test_extend_appends_pairs_mappings_and_kwargs() -> None:
    md = MultiDict([("a", 1)])
    md.extend([("a", 2)], b=3)
    md.extend({"c": 4})
    md.extend(MultiDict(PAIRS))
    md.extend()
    assert md.getall("a") == [1, 2, 1, 3]
    assert list(md)[:4] == ["a", "a", "b", "c"]
    assert len(md) == 7


def test_update_replaces_values_in_place_like_multidict() -> None:
    ours = CIMultiDict([("Ab", 1), ("b", 2), ("aB", 3), ("c", 4)])
    theirs = reference.CIMultiDict([("Ab", 1), ("b", 2), ("aB", 3), ("c", 4)])
    new = [("ab", 7), ("AB", 8), ("ab", 10), ("d", 0)]
    ours.update(new, c=5)
    theirs.update(new, c=5)
    assert list(ours.items()) == list(theirs.items())
    ours.update()
    assert list(ours.items()) == list(theirs.items())


def test_update_drops_surplus_old_values() -> None:
    md = MultiDict(PAIRS)
    md.update({"a": 5})
    assert list(md.items()) == [("a", 5), ("b", 2)]


def test_clear_empties_the_dict() -> None:
    md = MultiDict(PAIRS)
    assert md["a"] == 1
    md.clear()
    assert len(md) == 0
    assert "a" not in md


@pytest.mark.parametrize(
    "cls_pair", [(MultiDict, reference.MultiDict), (CIMultiDict, reference.CIMultiDict)]
)
def test_a_sequence_of_operations_matches_the_multidict_package(
    cls_pair: tuple[type, type],
) -> None:
    ours, theirs = cls_pair[0](), cls_pair[1]()
    operations: list[tuple[Any, ...]] = [
        ("add", "K", 1),
        ("add", "k", 2),
        ("add", "x", 3),
        ("setitem", "K", 4),
        ("add", "K", 5),
        ("popone", "k"),
        ("extend", [("x", 6), ("k", 7)]),
        ("popall", "x"),
        ("setdefault", "y", 8),
        ("delitem", "y"),
    ]
    for name, *args in operations:
        for md in (ours, theirs):
            if name == "setitem":
                md[args[0]] = args[1]
            elif name == "delitem":
                del md[args[0]]
            elif name == "popone" and isinstance(md, MultiDict):
                md.popone(*args)
            else:
                getattr(md, name)(*args)
        assert list(ours.items()) == list(theirs.items()), name
        for key in ("K", "k", "x", "y"):
            assert ours.getall(key, None) == theirs.getall(key, None)


# --- proxies ----------------------------------------------------------------------------------


def test_proxy_is_a_live_read_only_view() -> None:
    md = MultiDict(PAIRS)
    proxy = MultiDictProxy(md)
    assert proxy["a"] == 1
    md.add("c", 4)
    md["a"] = 0
    assert proxy.getall("a") == [0]
    assert proxy["c"] == 4
    assert len(proxy) == 3
    with pytest.raises(TypeError):
        proxy["a"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        del proxy["a"]  # type: ignore[attr-defined]
    for method in ("add", "extend", "update", "pop", "popone", "popall", "clear", "setdefault"):
        assert not hasattr(proxy, method)
    with pytest.raises(AttributeError):
        proxy.extra = 1  # type: ignore[attr-defined]


def test_proxy_copy_is_a_mutable_multidict() -> None:
    proxy = MultiDictProxy(MultiDict(PAIRS))
    copy = proxy.copy()
    assert type(copy) is MultiDict
    assert list(copy.items()) == PAIRS
    ci_copy = CIMultiDictProxy(CIMultiDict(A=1)).copy()
    assert type(ci_copy) is CIMultiDict
    assert ci_copy["a"] == 1


def test_proxy_of_a_proxy_shares_the_dict() -> None:
    md = CIMultiDict(A=1)
    outer = CIMultiDictProxy(CIMultiDictProxy(md))
    md.add("a", 2)
    assert outer.getall("A") == [1, 2]


def test_proxy_folds_case_as_its_dict_does() -> None:
    md = CIMultiDict([("Content-Type", "x")])
    assert MultiDictProxy(md)["content-type"] == "x"


def test_proxy_rejects_other_types() -> None:
    with pytest.raises(TypeError, match="MultiDictProxy wraps a MultiDict or MultiDictProxy"):
        MultiDictProxy({"a": 1})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="wraps a CIMultiDict or CIMultiDictProxy, not MultiDict"):
        CIMultiDictProxy(MultiDict())  # type: ignore[arg-type]
