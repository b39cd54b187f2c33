"""`Storage`: the mutable mapping that requests and responses are, for middlewares' data."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, MutableMapping, ValuesView
from typing import Any

from .._compiled import mypyc_attr

__all__ = ["Storage"]

_MISSING: Any = object()


@mypyc_attr(allow_interpreted_subclasses=True)
class Storage:
    """Per-object data (``request["user"] = ...``), kept in a dict made on first write.

    A `MutableMapping` (registered as one, ``isinstance`` says so) with every method of one, written
    out rather than inherited: an ABC base would make the compiled response classes share one ABC
    cache, and ``issubclass`` among them would answer wrongly.  Objects compare and hash by identity
    and are always true, whatever they hold.
    """

    _state: dict[str, Any] | None = None

    def _storage(self) -> dict[str, Any]:
        if self._state is None:
            self._state = {}
        return self._state

    def __getitem__(self, key: str) -> Any:
        return self._storage()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._storage()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._storage()[key]

    def __len__(self) -> int:
        return len(self._state) if self._state else 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._state or ())

    def __contains__(self, key: object) -> bool:
        return bool(self._state) and key in self._storage()

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        return True

    def get(self, key: str, default: Any = None) -> Any:
        return self._state.get(key, default) if self._state else default

    def keys(self) -> KeysView[str]:
        return self._storage().keys()

    def values(self) -> ValuesView[Any]:
        return self._storage().values()

    def items(self) -> ItemsView[str, Any]:
        return self._storage().items()

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        if default is _MISSING:
            return self._storage().pop(key)
        return self._storage().pop(key, default)

    def popitem(self) -> tuple[str, Any]:
        return self._storage().popitem()

    def clear(self) -> None:
        if self._state:
            self._state.clear()

    def setdefault(self, key: str, default: Any = None) -> Any:
        return self._storage().setdefault(key, default)

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        self._storage().update(other, **kwargs)


MutableMapping.register(Storage)
