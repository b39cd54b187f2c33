"""`Storage`: the mutable mapping that requests and responses are, for middlewares' data."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

__all__ = ["Storage"]


class Storage(MutableMapping[str, Any]):
    """Per-object data (``request["user"] = ...``), kept in a dict made on first write.

    Objects compare and hash by identity and are always true, whatever they hold.
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

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        return True
