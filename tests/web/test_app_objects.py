"""Application objects on their own (no socket): signals, state, keys, sub-application rules."""

from __future__ import annotations

from typing import Any

import pytest

from ketch import web


async def callback(app: Any) -> None:
    return None


def test_a_frozen_signal_refuses_every_change() -> None:
    signal = web.Signal(object())
    signal.append(callback)
    signal.extend([callback])
    signal.insert(0, callback)
    signal += [callback]
    signal[0] = callback
    del signal[0]
    signal.remove(callback)
    assert signal.pop() is callback
    assert len(signal) == 1
    signal.freeze()
    changes = [
        lambda: signal.append(callback),
        lambda: signal.extend([callback]),
        lambda: signal.insert(0, callback),
        lambda: signal.remove(callback),
        lambda: signal.__iadd__([callback]),
        lambda: signal.__setitem__(0, callback),
        lambda: signal.__delitem__(0),
        lambda: signal.pop(),
        lambda: signal.clear(),
    ]
    for change in changes:
        with pytest.raises(RuntimeError, match="frozen"):
            change()
    assert list(signal) == [callback]


def test_application_state_is_a_mapping_with_typed_keys() -> None:
    key = web.AppKey("db", dict)
    app = web.Application()
    app[key] = {"ready": True}
    app["plain"] = 1
    assert app[key] == {"ready": True}
    assert len(app) == 2
    assert list(app) == [key, "plain"]
    del app["plain"]
    assert "plain" not in app
    assert repr(key) == "<AppKey('db', type=dict)>"
    assert repr(web.AppKey("anything")) == "<AppKey('anything', type=object)>"
    assert app
    assert app == app
    assert app != web.Application()
    assert hash(app) == id(app)
    assert repr(app).startswith("<Application 0x")
    assert app() is app  # aiohttp's gunicorn entry point calls the app


def test_sub_application_rules() -> None:
    app = web.Application()
    api = web.Application()
    app.add_subapp("/api", api)
    with pytest.raises(RuntimeError, match="already mounted"):
        web.Application().add_subapp("/again", api)
    with pytest.raises(ValueError, match="own sub-application"):
        app.add_subapp("/self", app)
    app.freeze()
    assert app.frozen
    assert api.frozen
    with pytest.raises(RuntimeError, match="started"):
        app.add_subapp("/late", web.Application())


def test_middleware_decorator_marks_and_returns_the_function() -> None:
    async def mw(request: Any, handler: Any) -> Any:
        return await handler(request)

    assert web.middleware(mw) is mw
    assert mw.__middleware_version__ == 1  # type: ignore[attr-defined]
