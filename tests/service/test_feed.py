"""The change feed as server-sent events: a receiver gets every change once, and resumes after a
disconnect with its last event id without losing or repeating any."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from service.app import create_app
from service.settings import Settings
from service.store import Store

try:
    from tests.service_fixtures import (
        API_KEYS,
        ENFORCEMENT_KEY,
        detection_one,
        detection_three,
        detection_two,
    )
except ImportError:
    from service_fixtures import API_KEYS, ENFORCEMENT_KEY, detection_one, detection_three, detection_two


@pytest.fixture
def served(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'feed.db'}"
    store = Store(url)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(Settings(store_url=url, api_keys=API_KEYS), store=store)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield store, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


class Receiver:
    """Reads the stream in a thread; events land in a queue as (id, data)."""

    def __init__(self, base: str, last_id: str | None = None, lifecycle: str | None = None) -> None:
        self.events: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        headers = {"X-API-Key": ENFORCEMENT_KEY} | ({"Last-Event-ID": last_id} if last_id else {})
        params = {"poll": 0.2} | ({"lifecycle": lifecycle} if lifecycle else {})
        self.thread = threading.Thread(target=self._run, args=(base, headers, params), daemon=True)
        self.thread.start()

    def _run(self, base: str, headers: dict, params: dict) -> None:
        try:
            self._read(base, headers, params)
        except httpx.HTTPError:
            if not self.stop.is_set():  # the server closing a stream we gave up on is no failure
                raise

    def _read(self, base: str, headers: dict, params: dict) -> None:
        with (
            httpx.Client(timeout=None) as client,
            client.stream("GET", f"{base}/v1/feed", params=params, headers=headers) as r,
        ):
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            event: dict = {}
            for line in r.iter_lines():
                if self.stop.is_set():
                    return
                if line.startswith("id: "):
                    event["id"] = line[4:]
                elif line.startswith("data: "):
                    event["data"] = json.loads(line[6:])
                elif line == "" and event:
                    self.events.put((event["id"], event["data"]))
                    event = {}

    def take(self, n: int, timeout: float = 20.0) -> list[tuple[str, dict]]:
        return [self.events.get(timeout=timeout) for _ in range(n)]

    def close(self) -> None:
        self.stop.set()


def test_every_change_once_and_resume_after_a_disconnect(served) -> None:
    store, base = served
    r1 = store.publish(detection_one())
    rx = Receiver(base)
    first = rx.take(r1.events)
    assert {d["cluster_id"] for _, d in first} == set(r1.id_map.values())
    r2 = store.publish(detection_two())  # a run lands while the receiver listens
    second = rx.take(r2.events)
    assert all(d["updated_run"] == 2 for _, d in second)
    # Each pushed change says what happened to the ring (service_fixtures: the ring swapped a5 for
    # a6, S changed verdict only, B dissolved, N is new).
    steps = {d["cluster_id"]: (d["lifecycle"], d["size_before"], d["size"]) for _, d in second}
    assert steps == {
        r2.id_map["k1"]: ("changed", 5, 5),
        r2.id_map["k2"]: ("unchanged", 3, 3),
        r2.dissolved[0]: ("dissolved", 3, 3),
        r2.id_map["k3"]: ("born", None, 3),
    }
    assert rx.events.empty()
    seen = [(d["cluster_id"], d["updated_run"]) for _, d in first + second]
    assert len(seen) == len(set(seen)), "no change delivered twice"
    rx.close()
    # Reconnect from the last event id: run 3's changes, none of the earlier ones.
    last_id = second[-1][0]
    r3 = store.publish(detection_three())
    again = Receiver(base, last_id)
    third = again.take(r3.events)
    assert all(d["updated_run"] == 3 for _, d in third)
    time.sleep(0.6)
    assert again.events.empty()
    again.close()


def test_feed_can_carry_only_some_lifecycle_steps(served) -> None:
    store, base = served
    store.publish(detection_one())
    store.publish(detection_two())
    rx = Receiver(base, lifecycle="dissolved,changed")
    got = {d["cluster_id"]: d["lifecycle"] for _, d in rx.take(2)}
    assert got == {"c-000001": "changed", "c-000003": "dissolved"}
    time.sleep(0.6)
    assert rx.events.empty()
    rx.close()


def test_feed_needs_a_key_and_a_valid_cursor(served) -> None:
    _, base = served
    assert httpx.get(f"{base}/v1/feed").status_code == 401
    r = httpx.get(f"{base}/v1/feed", headers={"X-API-Key": ENFORCEMENT_KEY, "Last-Event-ID": "bogus-cursor"})
    assert r.status_code == 422
    r = httpx.get(f"{base}/v1/feed", params={"lifecycle": "exploded"}, headers={"X-API-Key": ENFORCEMENT_KEY})
    assert r.status_code == 422 and "'exploded' is not one of born" in r.text
