"""Builds the FastAPI app over the verdict store (docs/contract.md section 4)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.deps import SECURITY_SCHEMES
from service.routers import accounts, clusters, feed, health
from service.settings import Settings
from service.store import Store, StoreUnavailable

log = logging.getLogger("ringscope.service")
access_log = logging.getLogger("ringscope.access")

_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

DESCRIPTION = """\
Cluster verdicts of ringscope's detection runs.

Every `/v1` request needs an `X-API-Key` header. Keys and roles come from `RINGSCOPE_API_KEYS`
(`key:role,key:role`): `investigator` reads everything; `enforcement` reads verdicts (the cluster
listing and account lookups) but not members, evidence or graphs. A missing or unknown key answers
401, a role without access 403.
"""


class Metrics:
    """The app's Prometheus series, in a registry of its own (one per app, so tests can build many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ringscope_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ringscope_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.latest_run = Gauge(
            "ringscope_latest_run_id", "Id of the latest published run (0: none).", registry=self.registry
        )
        self.run_accounts = Gauge(
            "ringscope_run_accounts", "Accounts in the latest run.", registry=self.registry
        )
        self.run_clusters = Gauge(
            "ringscope_run_clusters", "Clusters in the latest run.", registry=self.registry
        )
        self.run_rings = Gauge("ringscope_run_rings", "Rings in the latest run.", registry=self.registry)
        self.run_published = Gauge(
            "ringscope_run_published_timestamp_seconds",
            "When the latest run was published (Unix seconds).",
            registry=self.registry,
        )
        self.decided = Gauge(
            "ringscope_decided_clusters",
            "Clusters by their latest decision (confirm / reject) or waiting (undecided rings).",
            ["dataset", "model_version", "state"],
            registry=self.registry,
        )
        self.ring_precision = Gauge(
            "ringscope_ring_precision",
            "Confirmed share of decided ring verdicts.",
            ["dataset", "model_version"],
            registry=self.registry,
        )
        self.store_up = Gauge(
            "ringscope_store_up", "1 when the verdict store answered the last scrape.", registry=self.registry
        )

    def set_quality(self, rows: list[dict[str, Any]]) -> None:
        self.decided.clear()
        self.ring_precision.clear()
        for r in rows:
            for state in ("confirmed", "rejected", "waiting"):
                self.decided.labels(r["dataset"], r["model_version"], state).set(r[state])
            if r["ring_precision"] is not None:
                self.ring_precision.labels(r["dataset"], r["model_version"]).set(r["ring_precision"])

    def set_run(self, run: dict[str, Any] | None) -> None:
        self.store_up.set(1)
        if run is None:
            self.latest_run.set(0)
            return
        self.latest_run.set(run["run_id"])
        self.run_accounts.set(run["n_accounts"])
        self.run_clusters.set(run["n_clusters"])
        self.run_rings.set(run["n_rings"])
        self.run_published.set(run["published_at"].timestamp())


class ApiHeadersMiddleware:
    """``HEAD`` on every ``GET`` route (answered as the ``GET`` would be, without the body), and on
    JSON answers under ``/v1``: ``Cache-Control: no-store`` (verdicts change with every run and are
    per key) and ``X-Content-Type-Options: nosniff``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        api = scope["path"].startswith("/v1")
        if not head and not api:
            await self.app(scope, receive, send)
            return

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start" and api:
                headers = MutableHeaders(scope=message)
                headers.setdefault("Cache-Control", "no-store")
                headers.setdefault("X-Content-Type-Options", "nosniff")
            elif message["type"] == "http.response.body" and head:
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"} if head else scope, receive, send_wrapped)


class RequestLogMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware overhead): one JSON log line and the metrics per request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # Labelled children, looked up once per (method, route[, status]): .labels() is slow.
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._latency: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except BaseException:
            status = 500
            raise
        finally:
            elapsed = time.perf_counter() - start
            matched = scope.get("route")
            route = getattr(matched, "path_format", None) or "<unmatched>"
            method = scope["method"]
            self._observe(method, route, status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    json.dumps(
                        {
                            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                            "method": method,
                            "route": route,
                            "path": scope["path"][:200],
                            "status": status,
                            "ms": round(elapsed * 1000, 3),
                        },
                        separators=(",", ":"),
                    )
                )

    def _observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        count = self._counts.get((method, route, status))
        if count is None:
            count = self._counts[(method, route, status)] = self.metrics.requests.labels(
                method, route, str(status)
            )
        count.inc()
        latency = self._latency.get((method, route))
        if latency is None:
            latency = self._latency[(method, route)] = self.metrics.latency.labels(method, route)
        latency.observe(elapsed)


SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-favicon-32x32.png")


def add_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` from ``service/static/vendor`` (copied from npm's swagger-ui-dist by
    ``web/build.sh``, like cytoscape), so the API docs work without the internet."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    vendor = Path(__file__).resolve().parent / "static" / "vendor"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/swagger-favicon-32x32.png",
        )

    app.mount("/docs/assets", StaticFiles(directory=vendor, check_dir=False), name="docs-assets")


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI schema with the API-key security scheme, built once."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(settings: Settings | None = None, *, store: Store | None = None, web: bool = False) -> FastAPI:
    """The ringscope HTTP service.

    Args:
        settings: store URL and API keys; read from ``RINGSCOPE_STORE`` / ``RINGSCOPE_API_KEYS``
            when omitted.
        store: an already open store to serve instead of opening ``settings.store_url``.
        web: also serve the investigator web page at ``/`` (``service.web.add_web``).

    Returns:
        The FastAPI app; its engine is disposed when the app shuts down.

    Raises:
        ValueError: ``RINGSCOPE_API_KEYS`` is malformed.
    """
    settings = settings or Settings()
    key_roles = settings.key_roles()
    store = store or Store(settings.store_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not key_roles:
            log.warning("RINGSCOPE_API_KEYS is empty: every /v1 request will answer 401")
        log.info("serving %r", app.state.store)
        try:
            yield
        finally:
            app.state.store.close()
            log.info("shut down: verdict store connections closed")

    app = FastAPI(
        title="ringscope",
        version="1",
        summary="Coordinated account abuse (bot rings): cluster verdicts.",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Prometheus (below) covers metrics; FastAPI's per-request OpenTelemetry checks cost ~20 us.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # /docs is served from local copies of Swagger UI (add_docs): no CDN, works offline.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.key_roles = key_roles
    app.state.metrics = Metrics()

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    app.include_router(accounts.router)
    app.include_router(accounts.profile_router)
    app.include_router(clusters.router)
    app.include_router(clusters.quality_router)
    app.include_router(clusters.entity_router)
    app.include_router(feed.router)
    app.include_router(health.router)
    if web:
        from service.web import add_web

        add_web(app)
    add_docs(app)
    app.add_middleware(ApiHeadersMiddleware)
    app.add_middleware(RequestLogMiddleware, metrics=app.state.metrics)

    add_error_handlers(app)
    return app


def add_error_handlers(app: FastAPI) -> None:
    """503 when the store cannot be reached; 500 (logged) only for true bugs."""

    async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.error("verdict store unreachable on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": "verdict store unavailable"}, status_code=503)

    for unreachable in (StoreUnavailable, OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(unreachable, store_unavailable)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # Only true bugs land here; the fuzz tests assert that none do.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)
