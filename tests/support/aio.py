"""`async_test`: async tests as plain pytest tests, each bounded by a deadline."""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["async_test"]


def async_test(timeout: float = 20.0) -> Callable[[Callable[..., Awaitable[None]]], Any]:
    """Decorate an ``async def`` test: it runs under its own event loop, within `timeout` seconds.

    A test that takes a ``loop`` argument ("asyncio" or "uvloop", usually parametrized) runs on
    that loop; others run on asyncio's default loop.
    """

    def decorate(fn: Callable[..., Awaitable[None]]) -> Any:
        wants_loop = "loop" in inspect.signature(fn).parameters

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> None:
            factory = None
            if wants_loop and kwargs.get("loop") == "uvloop":
                import uvloop

                factory = uvloop.new_event_loop

            async def main() -> None:
                async with asyncio.timeout(timeout):
                    await fn(*args, **kwargs)

            with asyncio.Runner(loop_factory=factory) as runner:
                runner.run(main())

        return wrapper

    return decorate
