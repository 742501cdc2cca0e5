"""``/v1/feed``: the change feed pushed as server-sent events (the push beside the pull).

Each change of ``GET /v1/clusters`` (new, re-judged, re-shaped, dissolved cluster) is one event:

    id: <cursor after this change>
    event: cluster
    data: <the cluster summary as JSON, the listing's item>

The stream starts after ``cursor`` (or the ``Last-Event-ID`` header a reconnecting client sends),
at the beginning of the feed without either, and polls the store for new runs every ``poll``
seconds; a comment line every 15 s keeps proxies from closing an idle stream. Because the cursor of
every event is its place in the feed, a client that reconnects with its last event id receives every
later change exactly once (the listing's guarantee, docs/api.md).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from service.deps import LIFECYCLE_HELP, SECURITY, any_role, invalid_param, lifecycle_steps
from service.schemas import Verdict, error_responses
from service.store import CursorError, Store, decode_cursor, encode_cursor
from service.store.cursor import MAX_CURSOR_LENGTH

router = APIRouter(prefix="/v1/feed", tags=["clusters"])
KEEPALIVE_S = 15.0
PAGE = 500


@router.get(
    "",
    openapi_extra={"security": SECURITY},
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "the change feed, one event per change"}
    }
    | error_responses(401, 403, 503),
    summary="The change feed as server-sent events (push)",
)
async def feed(
    request: Request,
    cursor: str | None = Query(
        None,
        min_length=3,
        max_length=MAX_CURSOR_LENGTH,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="start after",
    ),
    verdict: Verdict | None = Query(None, description="only clusters whose current verdict is this"),
    dataset: str | None = Query(
        None, min_length=1, max_length=200, description="only this dataset's clusters"
    ),
    poll: float = Query(2.0, ge=0.2, le=60.0, description="seconds between looks for new runs"),
    lifecycle: str | None = Query(None, max_length=200, description=LIFECYCLE_HELP),
    store: Store = Depends(any_role),
) -> StreamingResponse:
    """Every change after ``cursor`` (or ``Last-Event-ID``), then each new one as runs land (any role)."""
    start = request.headers.get("last-event-id") or cursor
    steps = lifecycle_steps(lifecycle)
    if start is not None:
        try:
            decode_cursor(start)
            store.list_clusters(cursor=start, limit=1, verdict=verdict, dataset=dataset)
        except CursorError as exc:
            raise invalid_param("cursor", str(exc), start) from None
    return StreamingResponse(
        _events(request, store, start, verdict, dataset, poll, steps),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(
    request: Request, store: Store, cursor: str | None, verdict, dataset, poll: float, lifecycle=None
) -> AsyncIterator[bytes]:
    last_sent = time.monotonic()
    while not await request.is_disconnected():
        page = store.list_clusters(
            cursor=cursor, limit=PAGE, verdict=verdict, dataset=dataset, lifecycle=lifecycle
        )
        for item in page.items:
            # Each event's id is the cursor right after it: resuming there skips and repeats nothing.
            event_id = encode_cursor(item["updated_seq"], store.store_id)
            yield f"id: {event_id}\nevent: cluster\ndata: {json.dumps(item, default=str)}\n\n".encode()
            last_sent = time.monotonic()
        cursor = page.next_cursor or page.resume_cursor
        if page.next_cursor is not None:
            continue
        if time.monotonic() - last_sent >= KEEPALIVE_S:
            yield b": keep-alive\n\n"
            last_sent = time.monotonic()
        await asyncio.sleep(poll)
