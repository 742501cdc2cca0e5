"""Operations: ``/healthz`` (liveness + store reachability) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from service.deps import get_store
from service.schemas import Health, error_responses
from service.store import Store, StoreUnavailable

router = APIRouter(tags=["operations"])
log = logging.getLogger("ringscope.service")


@router.get(
    "/healthz",
    response_model=Health,
    responses=error_responses(503),
    summary="Liveness: the store is reachable; the latest run id",
)
async def healthz(store: Store = Depends(get_store)) -> Health | JSONResponse:
    """``{"status": "ok", "latest_run": <id or null>}``, or 503 when the store cannot be read."""
    try:
        latest = store.ping()
    except (StoreUnavailable, SQLAlchemyError) as exc:
        log.warning("healthz: verdict store unreachable: %s", exc.__class__.__name__)
        return JSONResponse({"detail": "verdict store unavailable"}, status_code=503)
    return Health(status="ok", latest_run=latest)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, store: Store = Depends(get_store)) -> Response:
    """Prometheus text format: request counts and latency per route, the published-run gauges."""
    state = request.app.state.metrics
    try:
        state.set_run(store.latest_run())
        state.set_quality(store.quality())
    except (StoreUnavailable, SQLAlchemyError):
        state.store_up.set(0)
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)
