"""Shared fixtures: a connected conversation, an embedded server per test and a strict GA
event validator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from realtime_nb.server import EmbeddedServer


@pytest.fixture
def conv() -> Iterator[Any]:
    """``realtime_nb.connect()`` on its own embedded server (real loopback), closed after."""
    import realtime_nb as rnb

    c = rnb.connect(timeout=10)
    yield c
    c.close()


@pytest.fixture
def embedded_server() -> Iterator[EmbeddedServer]:
    """A fresh GA server on a random loopback port (own thread), stopped after the test."""
    with EmbeddedServer() as server:
        yield server


def _extras(model: Any, path: str = "event") -> list[str]:
    """Every unknown field in a validated pydantic model tree, as dotted paths."""
    from pydantic import BaseModel

    found: list[str] = []
    if isinstance(model, BaseModel):
        found += [f"{path}.{k}" for k in (model.model_extra or {})]
        for name in type(model).model_fields:
            found += _extras(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, (list, tuple)):
        for i, value in enumerate(model):
            found += _extras(value, f"{path}[{i}]")
    elif isinstance(model, dict):
        for key, value in model.items():
            found += _extras(value, f"{path}.{key}")
    return found


@pytest.fixture(scope="session")
def strict_ga() -> Callable[[dict[str, Any]], Any]:
    """``strict_ga(event_dict)`` validates against the openai SDK's GA ``RealtimeServerEvent``
    and fails on any field the SDK models do not know (``model_extra`` recursively empty)."""
    from openai.types.realtime import RealtimeServerEvent
    from pydantic import TypeAdapter

    adapter = TypeAdapter(RealtimeServerEvent)

    def check(event: dict[str, Any]) -> Any:
        model = adapter.validate_python(event)
        extras = _extras(model)
        assert not extras, f"unknown fields {extras} in {event.get('type')}: {event}"
        return model

    return check
