"""``LookupRoute``: a leaner request handler for the hot GET lookups.

FastAPI's general handler (dependency resolution, parameter validation, response validation) costs
about 100 us per request on FastAPI 0.165, as much as the lookup itself. The id lookups need none of
its generality: their only inputs are ``str`` path parameters, optional ``str`` query parameters
(validated against their declared constraints, errors as FastAPI's 422) and one dependency that takes
the request (the API-key check). ``LookupRoute`` overrides ``APIRoute.get_route_handler`` (FastAPI's
documented extension point for custom route classes) to call exactly those, then validates and
serialises the answer with the route's response model, as FastAPI would. The OpenAPI document,
error handling (``HTTPException`` -> JSON) and routing are FastAPI's own. A route that does not fit
this shape silently gets FastAPI's handler. ``app.dependency_overrides`` is not consulted.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, get_args

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError


def _optional_str(param: Any) -> bool:
    """A query parameter that is ``str | None`` with default None."""
    return (
        set(get_args(param.field_info.annotation)) == {str, type(None)} and param.field_info.default is None
    )


def _request_only(dep: Dependant) -> bool:
    return (
        inspect.iscoroutinefunction(dep.call)
        and dep.request_param_name is not None
        and not (dep.path_params or dep.query_params or dep.header_params or dep.cookie_params)
        and not (dep.body_params or dep.dependencies)
        and len(inspect.signature(dep.call).parameters) == 1
    )


class LookupRoute(APIRoute):
    """An ``APIRoute`` whose handler skips FastAPI's general resolver when the endpoint is a lookup."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        dependant = self.dependant
        fits = (
            inspect.iscoroutinefunction(dependant.call)
            and self.response_model is not None
            and all(_optional_str(q) for q in dependant.query_params)
            and not (dependant.header_params or dependant.cookie_params)
            and not dependant.body_params
            and dependant.request_param_name is None
            and all(p.field_info.annotation is str for p in dependant.path_params)
            and all(_request_only(d) for d in dependant.dependencies)
            and all(d.name for d in dependant.dependencies)
        )
        if not fits:
            return super().get_route_handler()

        endpoint = dependant.call
        path_names = [p.name for p in dependant.path_params]
        # name in the endpoint, name in the URL, validator of the declared constraints
        queries = [
            (q.name, q.alias, TypeAdapter(Annotated[str, *q.field_info.metadata]))
            for q in dependant.query_params
        ]
        deps = [(d.name, d.call) for d in dependant.dependencies]
        adapter: TypeAdapter[Any] = TypeAdapter(self.response_model)
        status = self.status_code or 200

        async def handler(request: Request) -> Response:
            params = request.path_params
            kwargs: dict[str, Any] = {name: params[name] for name in path_names}
            for name, alias, check in queries:
                value = request.query_params.get(alias)
                if value is not None:
                    try:
                        value = check.validate_python(value)
                    except ValidationError as exc:
                        raise RequestValidationError(
                            [{**e, "loc": ("query", alias)} for e in exc.errors(include_url=False)]
                        ) from None
                kwargs[name] = value
            for name, call in deps:
                kwargs[name] = await call(request)
            result = await endpoint(**kwargs)
            if isinstance(result, Response):
                return result
            body = adapter.dump_json(adapter.validate_python(result, from_attributes=True))
            return Response(body, status_code=status, media_type="application/json")

        return handler
