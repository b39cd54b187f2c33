"""Multi-dicts: the `multidict` package's API (as aiohttp users know it) in pure Python.

Four classes, generic in the value type:

* `MultiDict` — mutable, case-sensitive ``str`` keys, insertion-ordered, duplicate keys allowed.
* `CIMultiDict` — the same with case-insensitive keys (headers). Lookups fold keys with
  ``str.lower()``: HTTP field names are ASCII tokens (RFC 9110 §5.1), for which ``lower()`` and
  ``casefold()`` agree, and ``lower()`` is the faster of the two. Iteration gives the keys as the
  caller spelled them.
* `MultiDictProxy`, `CIMultiDictProxy` — live read-only views of one of those.

Theory of operation: a dict and every proxy of it share one `_State`: the list of
``(key, value)`` pairs, which is the truth, and an index ``folded key -> [values]`` built on the
first lookup. `add` keeps a built index up to date; every other mutation drops it, to be rebuilt
by the next lookup. So a dict built once and read many times (request headers) answers
`getone` with one ``lower()`` and one dict lookup, while building it costs nothing but the list.
`CIMultiDict._from_pairs` builds from a ready list without copying or checking it.

Deliberate difference from `multidict`: `pop` removes *every* value of the key and returns the
first (the `MutableMapping` contract: afterwards ``key not in d``); `popone` removes only the
first, as `multidict`'s ``pop`` does.
"""

from __future__ import annotations

from collections.abc import (
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    ValuesView,
)
from typing import Generic, Self, TypeVar, overload

__all__ = ["CIMultiDict", "CIMultiDictProxy", "MultiDict", "MultiDictProxy"]

V = TypeVar("V")
T = TypeVar("T")


class _Marker:
    """The "no default given" sentinel type (``None`` is a legitimate default)."""


_marker = _Marker()


def _same(key: str) -> str:
    return key


class _State(Generic[V]):
    """What a dict and its proxies share: the pairs, the key folding and the lookup index.

    The folding lives here, not on the class, so that a proxy always folds as its dict does.
    """

    __slots__ = ("fold", "index", "items")

    def __init__(self, items: list[tuple[str, V]], fold: Callable[[str], str]) -> None:
        self.items = items
        self.fold = fold
        self.index: dict[str, list[V]] | None = None

    def build_index(self) -> dict[str, list[V]]:
        index: dict[str, list[V]] = {}
        fold = self.fold
        for key, value in self.items:
            folded = fold(key)
            values = index.get(folded)
            if values is None:
                index[folded] = [value]
            else:
                values.append(value)
        self.index = index
        return index


def _check_key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"multi-dict keys must be str, not {type(key).__name__}")
    return key


def _pairs(
    arg: Mapping[str, V] | Iterable[tuple[str, V]], kwargs: Mapping[str, V]
) -> list[tuple[str, V]]:
    """The ``(key, value)`` pairs of a constructor/`extend`/`update` argument, checked."""
    out: list[tuple[str, V]]
    if isinstance(arg, _Base):
        out = list(arg._state.items)  # already checked when they went in
    else:
        out = []
        pairs: Iterable[tuple[str, V]] = arg.items() if isinstance(arg, Mapping) else arg
        for i, item in enumerate(pairs):
            try:
                key, value = item
            except (TypeError, ValueError):
                raise TypeError(f"multi-dict item #{i} is not a (key, value) pair") from None
            out.append((_check_key(key), value))
    out.extend(kwargs.items())
    return out


class _ItemsView(ItemsView[str, V]):
    """All ``(key, value)`` pairs in order, duplicates included; live."""

    __slots__ = ("_state",)

    def __init__(self, md: _Base[V]) -> None:
        super().__init__(md)
        self._state = md._state

    def __iter__(self) -> Iterator[tuple[str, V]]:
        return iter(self._state.items)

    def __contains__(self, item: object) -> bool:
        return item in self._state.items

    def __repr__(self) -> str:
        return f"<_ItemsView({', '.join(f'{k!r}: {v!r}' for k, v in self._state.items)})>"


class _ValuesView(ValuesView[V]):
    """All values in order, duplicates included; live."""

    __slots__ = ("_state",)

    def __init__(self, md: _Base[V]) -> None:
        super().__init__(md)
        self._state = md._state

    def __iter__(self) -> Iterator[V]:
        return (v for _, v in self._state.items)

    def __contains__(self, value: object) -> bool:
        return any(v is value or v == value for _, v in self._state.items)

    def __repr__(self) -> str:
        return f"<_ValuesView({', '.join(repr(v) for _, v in self._state.items)})>"


class _KeysView(KeysView[str]):
    """All keys in order, repeated for duplicates; ``in`` folds case like the dict; live."""

    __slots__ = ("_state",)

    def __init__(self, md: _Base[V]) -> None:
        super().__init__(md)
        self._state: _State[V] = md._state

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._state.items)

    def __repr__(self) -> str:
        return f"<_KeysView({', '.join(repr(k) for k, _ in self._state.items)})>"


class _Base(Mapping[str, V]):
    """The read API, shared by the dicts and the proxies (all reads go through `_state`)."""

    __slots__ = ("_state",)
    _state: _State[V]

    # The lookups below inline `_State.index` / `build_index`: they are the hot path.

    def _values(self, key: str) -> list[V] | None:
        state = self._state
        index = state.index
        if index is None:
            index = state.build_index()
        return index.get(state.fold(key))

    def __getitem__(self, key: str) -> V:
        state = self._state
        index = state.index
        if index is None:
            index = state.build_index()
        values = index.get(state.fold(key))
        if values is None:
            raise KeyError(key)
        return values[0]

    @overload
    def get(self, key: str, /) -> V | None: ...
    @overload
    def get(self, key: str, /, default: V | T) -> V | T: ...
    def get(self, key: str, /, default: object = None) -> object:
        """The first value of `key`, or `default` (``None``) when it has none."""
        state = self._state
        index = state.index
        if index is None:
            index = state.build_index()
        values = index.get(state.fold(key))
        return default if values is None else values[0]

    @overload
    def getone(self, key: str) -> V: ...
    @overload
    def getone(self, key: str, default: T) -> V | T: ...
    def getone(self, key: str, default: object = _marker) -> object:
        """The first value of `key`.

        Raises:
            KeyError: `key` has no value and no `default` was given.
        """
        state = self._state
        index = state.index
        if index is None:
            index = state.build_index()
        values = index.get(state.fold(key))
        if values is not None:
            return values[0]
        if default is _marker:
            raise KeyError(key)
        return default

    @overload
    def getall(self, key: str) -> list[V]: ...
    @overload
    def getall(self, key: str, default: T) -> list[V] | T: ...
    def getall(self, key: str, default: object = _marker) -> object:
        """A new list of every value of `key`, in order.

        Raises:
            KeyError: `key` has no value and no `default` was given.
        """
        values = self._values(key)
        if values is not None:
            return list(values)
        if default is _marker:
            raise KeyError(key)
        return default

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        state = self._state
        index = state.index
        if index is None:
            index = state.build_index()
        return state.fold(key) in index

    def __len__(self) -> int:
        return len(self._state.items)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._state.items)

    def keys(self) -> KeysView[str]:
        """Every key in order, repeated for duplicates."""
        return _KeysView(self)

    def values(self) -> ValuesView[V]:
        """Every value in order."""
        return _ValuesView(self)

    def items(self) -> ItemsView[str, V]:
        """Every ``(key, value)`` pair in order."""
        return _ItemsView(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Base):
            # Order matters between multi-dicts (as in `multidict`); keys compare by our folding.
            fold = self._state.fold
            ours, theirs = self._state.items, other._state.items
            return len(ours) == len(theirs) and all(
                fold(k1) == fold(k2) and v1 == v2
                for (k1, v1), (k2, v2) in zip(ours, theirs, strict=True)
            )
        if isinstance(other, Mapping):
            if len(self) != len(other):
                return False
            return all(other.get(k, _marker) == v for k, v in self._state.items)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable (or a view of a mutable): unhashable

    def __repr__(self) -> str:
        body = ", ".join(f"{k!r}: {v!r}" for k, v in self._state.items)
        return f"<{type(self).__name__}({body})>"


class MultiDict(_Base[V], MutableMapping[str, V]):
    """A mutable, insertion-ordered mapping of ``str`` keys that may repeat.

    Build it from a mapping (a multi-dict gives all its pairs), an iterable of ``(key, value)``
    pairs, and/or keyword arguments (added after). ``d[key]`` is the first value of key.
    """

    __slots__ = ()
    # How keys compare: as they are here, lower() in CIMultiDict.
    _fold: Callable[[str], str] = staticmethod(_same)

    def __init__(self, arg: Mapping[str, V] | Iterable[tuple[str, V]] = (), /, **kwargs: V) -> None:
        self._state = _State(_pairs(arg, kwargs), self._fold)

    @classmethod
    def _from_pairs(cls, pairs: list[tuple[str, V]]) -> Self:
        """Build from `pairs` as they are: no copy, no key checks, no per-item call.

        The fast path for trusted input (parsed request headers): the new dict owns `pairs`,
        which the caller must not use afterwards. Keys must be ``str``.
        """
        self = cls.__new__(cls)
        self._state = _State(pairs, cls._fold)
        return self

    def copy(self) -> Self:
        """A shallow copy, of the same class."""
        return self._from_pairs(list(self._state.items))

    def _changed(self) -> None:
        # Any change other than an append invalidates the positions the index was built from.
        self._state.index = None

    def add(self, key: str, value: V) -> None:
        """Append the pair ``(key, value)``; existing values of `key` stay."""
        state = self._state
        state.items.append((_check_key(key), value))
        index = state.index
        if index is not None:
            values = index.get(folded := state.fold(key))
            if values is None:
                index[folded] = [value]
            else:
                values.append(value)

    def extend(self, arg: Mapping[str, V] | Iterable[tuple[str, V]] = (), /, **kwargs: V) -> None:
        """Append every pair of `arg` (as for the constructor) and then of `kwargs`."""
        pairs = _pairs(arg, kwargs)
        if pairs:
            self._state.items.extend(pairs)
            self._changed()

    def update(  # type: ignore[override]  # one positional form, like multidict's
        self, arg: Mapping[str, V] | Iterable[tuple[str, V]] = (), /, **kwargs: V
    ) -> None:
        """Replace the values of every key given, as `multidict` does.

        The n-th new pair of a key takes the place of that key's n-th existing pair; the key's
        surplus old pairs go, and its surplus new pairs are appended. Other keys are untouched.
        """
        new = _pairs(arg, kwargs)
        if not new:
            return
        fold = self._state.fold
        positions: dict[str, list[int]] = {}
        for i, (key, _) in enumerate(new):
            positions.setdefault(fold(key), []).append(i)
        used = [False] * len(new)
        taken: dict[str, int] = {}
        out: list[tuple[str, V]] = []
        for pair in self._state.items:
            folded = fold(pair[0])
            slots = positions.get(folded)
            if slots is None:
                out.append(pair)
                continue
            n = taken.get(folded, 0)
            if n < len(slots):
                out.append(new[slots[n]])
                used[slots[n]] = True
                taken[folded] = n + 1
        out.extend(pair for pair, done in zip(new, used, strict=True) if not done)
        self._state.items[:] = out  # in place: proxies and views share the list
        self._changed()

    def __setitem__(self, key: str, value: V) -> None:
        """Make `value` the only value of `key`, where its first pair was (else at the end)."""
        self.update(((key, value),))

    def __delitem__(self, key: str) -> None:
        """Remove every value of `key`.

        Raises:
            KeyError: `key` has no value.
        """
        self.popall(key)

    def setdefault(self, key: str, default: V = None) -> V:  # type: ignore[assignment]  # as dict's
        """The first value of `key`; if it has none, add ``(key, default)`` and return `default`."""
        values = self._values(key)
        if values is not None:
            return values[0]
        self.add(key, default)
        return default

    @overload
    def popall(self, key: str) -> list[V]: ...
    @overload
    def popall(self, key: str, default: T) -> list[V] | T: ...
    def popall(self, key: str, default: object = _marker) -> object:
        """Remove every value of `key` and return them, in order.

        Raises:
            KeyError: `key` has no value and no `default` was given.
        """
        values = self._values(key)
        if values is None:
            if default is _marker:
                raise KeyError(key)
            return default
        fold = self._state.fold
        folded = fold(key)
        self._state.items[:] = [pair for pair in self._state.items if fold(pair[0]) != folded]
        self._changed()
        return values  # the index list, now detached from the dropped index

    @overload
    def pop(self, key: str) -> V: ...
    @overload
    def pop(self, key: str, default: V) -> V: ...
    @overload
    def pop(self, key: str, default: T) -> V | T: ...
    def pop(self, key: str, default: object = _marker) -> object:
        """Remove every value of `key` and return the first (`popone` removes only the first).

        Raises:
            KeyError: `key` has no value and no `default` was given.
        """
        values = self.popall(key, None)
        if values is not None:
            return values[0]
        if default is _marker:
            raise KeyError(key)
        return default

    @overload
    def popone(self, key: str) -> V: ...
    @overload
    def popone(self, key: str, default: T) -> V | T: ...
    def popone(self, key: str, default: object = _marker) -> object:
        """Remove the first value of `key` and return it; later values stay.

        Raises:
            KeyError: `key` has no value and no `default` was given.
        """
        folded = self._state.fold(key)
        items = self._state.items
        fold = self._state.fold
        for i, (k, v) in enumerate(items):
            if fold(k) == folded:
                del items[i]
                self._changed()
                return v
        if default is _marker:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[str, V]:
        """Remove the last pair and return it.

        Raises:
            KeyError: the dict is empty.
        """
        if not self._state.items:
            raise KeyError("popitem(): multi-dict is empty")
        pair = self._state.items.pop()
        self._changed()
        return pair

    def clear(self) -> None:
        """Remove every pair."""
        self._state.items.clear()
        self._changed()


class CIMultiDict(MultiDict[V]):
    """A `MultiDict` whose keys compare case-insensitively; keys keep their given spelling."""

    __slots__ = ()
    _fold = staticmethod(str.lower)


class MultiDictProxy(_Base[V]):
    """A live, read-only view of a `MultiDict` (or of another proxy's dict)."""

    __slots__ = ()
    _accepts: tuple[type, ...] = (MultiDict,)

    def __init__(self, md: MultiDict[V] | MultiDictProxy[V], /) -> None:
        if not isinstance(md, (*self._accepts, type(self))):
            names = " or ".join(c.__name__ for c in (*self._accepts, type(self)))
            raise TypeError(f"{type(self).__name__} wraps a {names}, not {type(md).__name__}")
        self._state = md._state

    def copy(self) -> MultiDict[V]:
        """A mutable copy of the underlying dict."""
        return MultiDict._from_pairs(list(self._state.items))


class CIMultiDictProxy(MultiDictProxy[V]):
    """A live, read-only view of a `CIMultiDict`."""

    __slots__ = ()
    _accepts = (CIMultiDict,)

    def __init__(self, md: CIMultiDict[V] | CIMultiDictProxy[V], /) -> None:
        super().__init__(md)

    def copy(self) -> CIMultiDict[V]:
        """A mutable copy of the underlying dict."""
        return CIMultiDict._from_pairs(list(self._state.items))
