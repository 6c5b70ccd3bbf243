"""Request properties (concord.request.add_request_property and request_class)."""

from __future__ import annotations

from typing import Any

import pytest
from pyramid.config import Configurator
from pyramid.response import Response
from webtest import TestApp

from concord.request import add_request_property, request_class


def _app(calls: list[str]) -> TestApp:
    config = Configurator()
    config.include("concord.request")

    def counted(request: Any) -> str:
        """Counts its computations."""
        calls.append(request.path)
        return f"computed for {request.path}"

    add_request_property(config, counted, "counted")

    def view(request: Any) -> Response:
        # Read twice: a reified property is computed once per request.
        values = {request.counted, request.counted}
        return Response(f"{id(type(request))} {values.pop()}")

    config.add_route("any", "/*path")
    config.add_view(view, route_name="any")
    config.set_request_factory(request_class(config.registry.concord_request_properties))
    return TestApp(config.make_wsgi_app())


def test_properties_are_computed_once_per_request_on_one_class() -> None:
    calls: list[str] = []
    app = _app(calls)
    first = app.get("/a").text.split(" ", 1)
    second = app.get("/b").text.split(" ", 1)
    assert calls == ["/a", "/b"]
    assert (first[1], second[1]) == ("computed for /a", "computed for /b")
    # Every request is an instance of the same class: none is built per request
    # (what Pyramid's add_request_method does, and what this replaces).
    assert first[0] == second[0]


def test_the_class_keeps_names_and_documentation() -> None:
    def engine(request: Any) -> str:
        """The engine."""
        return "x"

    cls = request_class({"engine": engine})
    assert cls.engine.__doc__ == "The engine."
    assert cls.engine.__name__ == "engine"


def test_a_name_is_defined_once() -> None:
    config = Configurator()
    config.include("concord.request")
    with pytest.raises(ValueError, match=r"request\.scope is already defined"):
        add_request_property(config, lambda request: None, "scope")
