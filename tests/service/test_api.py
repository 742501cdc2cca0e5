"""The HTTP API (CONTRACT.md section 4) over SQLite and PostgreSQL: answers, auth, errors, paging
while runs land, metrics, logs, fuzzing from the OpenAPI spec, graceful shutdown."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from sqlalchemy.exc import OperationalError

from service.app import create_app
from service.settings import Settings
from service.store import Store, encode_cursor

try:
    from tests.service_fixtures import (  # noqa: F401 (fixtures)
        API_KEYS,
        ENFORCEMENT_KEY,
        INVESTIGATOR_KEY,
        detection_one,
        detection_two,
        pg_server,
        store_url,
    )
except ImportError:
    from service_fixtures import (  # noqa: F401 (fixtures)
        API_KEYS,
        ENFORCEMENT_KEY,
        INVESTIGATOR_KEY,
        detection_one,
        detection_two,
        pg_server,
        store_url,
    )

INV = {"X-API-Key": INVESTIGATOR_KEY}
ENF = {"X-API-Key": ENFORCEMENT_KEY}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A store holding run 1 (ring c-000001, suspicious c-000002, benign c-000003)."""
    s = Store(store_url)
    s.publish(detection_one())
    yield s
    s.close()


@pytest.fixture
def app(store: Store, store_url: str) -> FastAPI:
    return create_app(Settings(store_url=store_url, api_keys=API_KEYS), store=store)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def pull(client: TestClient, cursor: str | None = None, headers=ENF, **params) -> tuple[list[dict], str]:
    """Pages to the end through the API; returns the items and the resume cursor."""
    items: list[dict] = []
    while True:
        query = {"limit": 2, **params} | ({"cursor": cursor} if cursor else {})
        r = client.get("/v1/clusters", params=query, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        if body["next_cursor"] is None:
            return items, body["resume_cursor"]
        cursor = body["next_cursor"]


# -- answers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [INV, ENF], ids=["investigator", "enforcement"])
def test_account(client: TestClient, headers: dict) -> None:
    r = client.get("/v1/accounts/a1", headers=headers)
    assert r.status_code == 200
    assert r.json() == {
        "account_id": "a1",
        "score": pytest.approx(0.89),
        "cluster_id": "c-000001",
        "verdict": "ring",
        "run_id": 1,
        "dataset": "default",
    }
    assert client.get("/v1/accounts/x1", headers=headers).json()["cluster_id"] is None


def test_cluster_detail(client: TestClient) -> None:
    body = client.get("/v1/clusters/c-000001", headers=INV).json()
    assert body["verdict"] == "ring" and body["score"] == pytest.approx(0.93) and body["size"] == 5
    assert [m["account_id"] for m in body["members"]] == ["a1", "a2", "a3", "a4", "a5"]
    assert body["members"][0]["score"] == pytest.approx(0.89)
    assert body["evidence"]["summary"][0] == "5 accounts share 2 devices"
    assert body["model_version"] == "test-model-1"
    assert body["detected_at"].startswith("2024-05-01T12:00:00")
    assert [(h["run_id"], h["change"], h["verdict"]) for h in body["history"]] == [(1, "new", "ring")]


def test_cluster_graph(client: TestClient) -> None:
    body = client.get("/v1/clusters/c-000001/graph", headers=INV).json()
    assert sorted(n["id"] for n in body["nodes"]) == ["a1", "a2", "a3", "a4", "a5"]
    assert set(body["nodes"][0]) >= {"id", "score", "verdict"}
    assert {"source": "a1", "target": "a2", "relation": "device", "weight": 1.0} in body["edges"]


def test_list_and_filters(client: TestClient) -> None:
    page = client.get("/v1/clusters", params={"verdict": "ring"}, headers=ENF).json()
    assert [c["cluster_id"] for c in page["items"]] == ["c-000001"]
    assert page["next_cursor"] is None and page["resume_cursor"]
    assert "members" not in page["items"][0] and "evidence" not in page["items"][0]
    everything, _ = pull(client)
    assert [c["cluster_id"] for c in everything] == ["c-000001", "c-000002", "c-000003"]
    assert [c["cluster_id"] for c in pull(client, min_size=4)[0]] == ["c-000001"]
    assert len(pull(client, since="0")[0]) == 3
    assert pull(client, since="1")[0] == []
    assert len(pull(client, since="2000-01-01T00:00:00Z")[0]) == 3
    assert pull(client, since="2999-01-01")[0] == []
    # One run so far: every cluster was born; nothing grew.
    assert len(pull(client, lifecycle="born")[0]) == 3
    assert pull(client, lifecycle="grew,merged")[0] == []


def test_lifecycle_filter_pulls_only_what_grew_or_went(client: TestClient, store: Store) -> None:
    store.publish(detection_two())  # the ring swaps a member, S changes verdict, B dissolves, N appears
    steps = {c["cluster_id"]: c["lifecycle"] for c in pull(client)[0]}
    assert steps == {
        "c-000001": "changed",
        "c-000002": "unchanged",
        "c-000003": "dissolved",
        "c-000004": "born",
    }
    assert [c["cluster_id"] for c in pull(client, lifecycle="dissolved,born")[0]] == ["c-000003", "c-000004"]
    assert [c["cluster_id"] for c in pull(client, lifecycle=" changed ")[0]] == ["c-000001"]


def test_runs_landing_while_paging_lose_and_repeat_nothing(client: TestClient, store: Store) -> None:
    first = client.get("/v1/clusters", params={"limit": 2}, headers=ENF).json()
    seen = [(c["cluster_id"], c["updated_run"], c["change"]) for c in first["items"]]
    assert first["next_cursor"] is not None

    store.publish(detection_two())  # lands mid-pull

    rest, resume = pull(client, first["next_cursor"])
    seen += [(c["cluster_id"], c["updated_run"], c["change"]) for c in rest]
    assert len(seen) == len(set(seen))
    # Page 1 delivered run 1's c-000001 and c-000002; run 2 changed both after we passed them,
    # so they come again with run 2's state; c-000003 is delivered once, as dissolved.
    assert seen == [
        ("c-000001", 1, "new"),
        ("c-000002", 1, "new"),
        ("c-000001", 2, "members"),
        ("c-000002", 2, "verdict"),
        ("c-000003", 2, "dissolved"),
        ("c-000004", 2, "new"),
    ]
    # Every cluster's latest state was delivered...
    latest = {(c["cluster_id"], c["updated_run"], c["change"]) for c in pull(client)[0]}
    assert latest <= set(seen)
    # ...and resuming later from the final cursor sees nothing until something changes.
    assert pull(client, resume)[0] == []


def test_resume_sees_exactly_what_changed(client: TestClient, store: Store) -> None:
    _, resume = pull(client, verdict="ring")
    store.publish(detection_two())
    changed, resume = pull(client, resume, verdict="ring")
    assert [(c["cluster_id"], c["previous_verdict"]) for c in changed] == [
        ("c-000001", "ring"),
        ("c-000002", "suspicious"),
    ]
    assert pull(client, resume, verdict="ring")[0] == []
    history = client.get("/v1/clusters/c-000002", headers=INV).json()["history"]
    assert [(h["run_id"], h["verdict"]) for h in history] == [(1, "suspicious"), (2, "ring")]


def test_healthz_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "latest_run": 1}
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/v1/accounts/{account_id}", "/v1/clusters", "/v1/clusters/{cluster_id}", "/healthz"} <= set(
        spec["paths"]
    )
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"


def test_web_page_when_asked(store: Store, store_url: str) -> None:
    app = create_app(Settings(store_url=store_url, api_keys=API_KEYS), store=store, web=True)
    with TestClient(app) as c:
        page = c.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert c.get("/v1/clusters").status_code == 401
        assert "/" not in c.get("/openapi.json").json()["paths"]


def test_metrics(client: TestClient) -> None:
    client.get("/v1/accounts/a1", headers=INV)
    client.get("/v1/accounts/nobody", headers=INV)
    text = client.get("/metrics").text
    assert (
        'ringscope_http_requests_total{method="GET",route="/v1/accounts/{account_id}",status="200"} 1.0'
        in text
    )
    assert 'route="/v1/accounts/{account_id}",status="404"' in text
    assert "ringscope_http_request_duration_seconds_bucket" in text
    assert "ringscope_latest_run_id 1.0" in text and "ringscope_run_rings 1.0" in text


def test_one_json_log_line_per_request(client: TestClient, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="ringscope.access"):
        client.get("/v1/clusters/c-000001", headers=INV)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "ringscope.access"]
    assert len(lines) == 1
    assert lines[0]["method"] == "GET" and lines[0]["route"] == "/v1/clusters/{cluster_id}"
    assert lines[0]["status"] == 200 and lines[0]["ms"] >= 0


# -- access ----------------------------------------------------------------------------------------

V1 = ["/v1/accounts/a1", "/v1/clusters", "/v1/clusters/c-000001", "/v1/clusters/c-000001/graph"]


def test_profile(store_url: str) -> None:
    """A member of a flagged cluster has a profile (investigators); others have none."""
    d = detection_one()
    profile = {
        "created_at": 1700000000,
        "first_seen": 1767225600,
        "last_seen": 1767229200,
        "events": 4,
        "targets": 2,
        "identifiers": [{"type": "device", "id": "d1", "uses": 2, "users_total": 5}],
        "recent": [{"ts": 1767229200, "action": "like", "entity_type": "content", "entity_id": "p1"}],
        "neighbours": [{"account_id": "a2", "weight": 1.5, "relations": ["coaction", "device"]}],
    }
    d.profiles = {"a1": profile}
    with (
        Store(store_url) as s,
        TestClient(create_app(Settings(store_url=store_url, api_keys=API_KEYS), store=s)) as c,
    ):
        s.publish(d)
        r = c.get("/v1/profiles/a1", headers=INV)
        assert r.status_code == 200
        body = r.json()
        assert body["verdict"] == "ring" and body["cluster_id"] == "c-000001" and body["profile"] == profile
        assert c.get("/v1/profiles/x1", headers=INV).json()["profile"] is None
        assert c.get("/v1/profiles/a1", params={"dataset": "elsewhere"}, headers=INV).status_code == 404


@pytest.mark.parametrize("path", V1)
@pytest.mark.parametrize(
    "headers", [{}, {"X-API-Key": ""}, {"X-API-Key": "wrong"}], ids=["none", "empty", "wrong"]
)
def test_no_key_or_wrong_key_is_401_without_data(client: TestClient, path: str, headers: dict) -> None:
    r = client.get(path, headers=headers)
    assert r.status_code == 401
    assert set(r.json()) == {"detail"}


@pytest.mark.parametrize(
    "path", ["/v1/clusters/c-000001", "/v1/clusters/c-000001/graph", "/v1/clusters/nope", "/v1/profiles/a1"]
)
def test_enforcement_sees_no_members_evidence_or_graph(client: TestClient, path: str) -> None:
    r = client.get(path, headers=ENF)
    assert r.status_code == 403 and "detail" in r.json()


def test_auth_comes_before_parameter_checks(client: TestClient) -> None:
    assert client.get("/v1/clusters", params={"limit": 0}).status_code == 401


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/accounts/nobody",
        "/v1/clusters/c-999999",
        "/v1/clusters/c-999999/graph",
        "/v1/accounts/a%00",
        "/v1/profiles/nobody",
    ],
)
def test_unknown_ids_are_404_with_json(client: TestClient, path: str) -> None:
    r = client.get(path, headers=INV)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json" and "detail" in r.json()


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": "ten"},
        {"cursor": "not-a-cursor"},
        {"cursor": "!!"},
        {"cursor": "x" * 100},
        {"verdict": "bot"},
        {"since": "yesterday"},
        {"since": "-3"},
        {"since": "9999-12-31T23:59:59-14:00"},
        {"since": "0001-01-01T00:00:00+14:00"},
        {"cursor": "0"},
        {"cursor": encode_cursor(10**6)},
        {"min_size": 0},
        {"lifecycle": "exploded"},
        {"lifecycle": "grew,,x"},
        {"lifecycle": ","},
    ],
)
def test_bad_parameters_are_422(client: TestClient, params: dict) -> None:
    r = client.get("/v1/clusters", params=params, headers=ENF)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list)


def test_cursor_schema_says_what_is_accepted(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/v1/clusters"]["get"]["parameters"]}
    schema = params["cursor"]["schema"]
    schema = next((s for s in schema.get("anyOf", [schema]) if s.get("type") == "string"), schema)
    assert schema["minLength"] == 3 and schema["pattern"]


def test_cursor_of_another_store_is_422(client: TestClient, tmp_path) -> None:
    _, resume = pull(client)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with TestClient(create_app(Settings(store_url=other, api_keys=API_KEYS))) as c:
        r = c.get("/v1/clusters", params={"cursor": resume}, headers=ENF)
        assert r.status_code == 422 and "another verdict store" in r.text


def test_no_run_yet(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'fresh.db'}"  # neither file nor folder exists
    with TestClient(create_app(Settings(store_url=url, api_keys=API_KEYS))) as c:
        assert c.get("/healthz").json() == {"status": "ok", "latest_run": None}
        assert c.get("/v1/accounts/a1", headers=INV).status_code == 404
        assert c.get("/v1/clusters/c-000001", headers=INV).status_code == 404
        body = c.get("/v1/clusters", headers=ENF).json()
        assert body["items"] == [] and body["next_cursor"] is None
        assert "ringscope_latest_run_id 0.0" in c.get("/metrics").text
    assert (tmp_path / "missing" / "fresh.db").exists()


def test_unreachable_store_is_503_not_500(client: TestClient, store: Store, monkeypatch) -> None:
    def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(store, "ping", down)
    monkeypatch.setattr(store, "account", down)
    assert client.get("/healthz").status_code == 503
    r = client.get("/v1/accounts/a1", headers=INV)
    assert r.status_code == 503 and r.json() == {"detail": "verdict store unavailable"}


def test_store_that_goes_away_is_503(client: TestClient, store: Store, monkeypatch) -> None:
    def gone() -> None:
        raise store.engine.dialect.loaded_dbapi.OperationalError("connection refused")

    monkeypatch.setattr(store._readers, "acquire", gone)
    assert client.get("/healthz").status_code == 503
    for path in ("/v1/accounts/a1", "/v1/clusters/c-000001", "/v1/clusters"):
        r = client.get(path, headers=INV)
        assert r.status_code == 503 and r.json() == {"detail": "verdict store unavailable"}


def test_opaque_account_ids(tmp_path) -> None:
    det = detection_one()
    det.accounts.loc[det.accounts["account_id"] == "x1", "account_id"] = "team/x 1?é"
    url = f"sqlite:///{tmp_path / 'ids.db'}"
    with Store(url) as s:
        s.publish(det)
    with TestClient(create_app(Settings(store_url=url, api_keys=API_KEYS))) as c:
        r = c.get("/v1/accounts/team/x%201%3F%C3%A9", headers=INV)
        assert r.status_code == 200 and r.json()["account_id"] == "team/x 1?é"


def test_bug_is_a_json_500(store: Store, store_url: str, monkeypatch) -> None:
    app = create_app(Settings(store_url=store_url, api_keys=API_KEYS), store=store)
    monkeypatch.setattr(store, "account", lambda _id: 1 / 0)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/v1/accounts/a1", headers=INV)
    assert r.status_code == 500 and r.json() == {"detail": "internal error"}


def test_settings_from_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RINGSCOPE_STORE", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("RINGSCOPE_API_KEYS", " k1:investigator , k2:enforcement ")
    settings_ = Settings()
    assert settings_.store_url.endswith("env.db")
    assert {k: r.value for k, r in settings_.key_roles().items()} == {
        "k1": "investigator",
        "k2": "enforcement",
    }
    with TestClient(create_app()) as c:
        assert c.get("/v1/clusters", headers={"X-API-Key": "k2"}).status_code == 200
    monkeypatch.setenv("RINGSCOPE_API_KEYS", "k1:admin")
    with pytest.raises(ValueError, match="unknown role"):
        create_app()


# -- fuzzing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "mode"),
    [
        pytest.param(INV, "positive", id="investigator-valid"),
        pytest.param(INV, "negative", id="investigator-invalid"),
        pytest.param(ENF, "positive", id="enforcement-valid"),
    ],
)
def test_fuzz_no_500_and_responses_match_schema(app: FastAPI, headers: dict, mode: str) -> None:
    """Schemathesis, from the app's own OpenAPI spec: every operation, valid and invalid inputs;
    no 500, every answer documented and matching its schema, no data without a key."""
    schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (dev extra)")
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        ignored_auth,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        ignored_auth,
    ]
    generation = schemathesis.GenerationMode(mode)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 12
    # The SSE feed never ends by design (tests/service/test_feed.py covers it over a real server).
    operations = [op for op in operations if op.path != "/v1/feed"]

    for operation in operations:
        if mode == "negative" and not operation.path_parameters and not operation.query:
            continue  # nothing to get wrong (/healthz)

        @given(case=operation.as_strategy(generation_mode=generation))
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case) -> None:
            case.call_and_validate(headers=dict(headers), checks=checks)

        fuzz()


# -- the real server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_server_serves_and_shuts_down_gracefully(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    with Store(url) as s:
        s.publish(detection_one())
    port = _free_port()
    code = (
        "from service.serve import run_server; "
        f"run_server({url!r}, '127.0.0.1', {port}, api_keys={API_KEYS!r})"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        r = httpx.get(f"http://127.0.0.1:{port}/v1/accounts/a1", headers=INV)
        assert r.status_code == 200 and r.json()["verdict"] == "ring"
        proc.send_signal(signal.SIGTERM)
        # uvicorn finishes requests in flight, runs the lifespan shutdown; then a clean exit.
        assert proc.wait(timeout=20) == 0
        stderr = proc.stderr.read()
        assert "shut down: verdict store connections closed" in stderr
        logs = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
        assert {"method": "GET", "route": "/v1/accounts/{account_id}", "status": 200}.items() <= logs[
            -1
        ].items()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_v1_answers_are_not_cached_or_sniffed(client: TestClient) -> None:
    for path, headers in (("/v1/clusters", ENF), ("/v1/accounts/nobody", INV), ("/v1/clusters", {})):
        r = client.get(path, headers=headers)
        assert r.headers["cache-control"] == "no-store", (path, r.status_code)
        assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/v1/clusters", "/v1/clusters/c-000001", "/healthz", "/openapi.json"])
def test_head_answers_like_get_without_a_body(client: TestClient, path: str) -> None:
    get = client.get(path, headers=INV)
    head = client.head(path, headers=INV)
    assert head.status_code == get.status_code == 200
    assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"]


def test_docs_need_nothing_from_the_internet(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "swagger-ui-bundle.js" in html and "cdn" not in html.lower() and "https://" not in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        r = client.get(f"/docs/assets/{asset}")
        if r.status_code == 404 and os.environ.get("RINGSCOPE_TEST_WEB") != "require":
            pytest.skip("web/build.sh has not copied Swagger UI (needs npm)")
        assert r.status_code == 200 and len(r.content) > 10_000


# -- members for enforcement -------------------------------------------------------------------------


def test_enforcement_pages_a_rings_members(client: TestClient) -> None:
    members, after, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"after": after} if after else {})
        r = client.get("/v1/clusters/c-000001/members", params=params, headers=ENF)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["verdict"] == "ring" and body["size"] == 5
        assert body["summary"] == "5 accounts share 2 devices"
        members += body["members"]
        pages += 1
        after = body["next_after"]
        if after is None:
            break
    assert [m["account_id"] for m in members] == [f"a{i}" for i in range(1, 6)] and pages == 3
    assert r.headers["cache-control"] == "no-store"


def test_enforcement_may_not_read_members_of_non_rings(client: TestClient) -> None:
    r = client.get("/v1/clusters/c-000002/members", headers=ENF)
    assert r.status_code == 403 and "suspicious" in r.json()["detail"]
    assert client.get("/v1/clusters/c-000002/members", headers=INV).status_code == 200
    assert client.get("/v1/clusters/nope/members", headers=ENF).status_code == 404
    assert client.get("/v1/clusters/c-000001/members", params={"limit": 0}, headers=ENF).status_code == 422


# -- decisions ---------------------------------------------------------------------------------------


def test_investigator_confirms_and_enforcement_sees_it(client: TestClient) -> None:
    r = client.post(
        "/v1/clusters/c-000001/decisions",
        json={"decision": "confirm", "reason": "emulator farm", "note": "same device ids"},
        headers=INV,
    )
    assert r.status_code == 201, r.text
    (made,) = r.json()
    assert made["decision"] == "confirm" and made["account_id"] is None and made["run_id"] == 1
    assert made["verdict"] == "ring" and made["size"] == 5
    assert made["decided_by"].startswith("investigator-") and INVESTIGATOR_KEY not in made["decided_by"]
    # One member is not part of it.
    r = client.post(
        "/v1/clusters/c-000001/decisions",
        json={"decision": "reject", "reason": "a customer", "members": ["a5"]},
        headers=INV,
    )
    assert r.status_code == 201 and r.json()[0]["account_id"] == "a5"
    body = client.get("/v1/clusters/c-000001/members", headers=ENF).json()
    assert body["decision"] == {"state": "confirmed", "needs_review": False, "decided_run": 1}
    decided = {m["account_id"]: m["decision"] for m in body["members"]}
    assert decided["a5"] == "reject" and decided["a1"] is None
    detail = client.get("/v1/clusters/c-000001", headers=INV).json()
    assert [d["decision"] for d in detail["decisions"]] == ["confirm", "reject"]
    assert client.get("/v1/clusters/c-000001/decisions", headers=INV).json() == detail["decisions"]


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "maybe", "reason": "x"},
        {"decision": "confirm"},
        {"decision": "confirm", "reason": ""},
        {"decision": "confirm", "reason": "x", "members": ["nobody"]},
        {"decision": "confirm", "reason": "x", "members": []},
        {"decision": "confirm", "reason": "x", "extra": 1},
    ],
)
def test_bad_decisions_are_422(client: TestClient, body: dict) -> None:
    r = client.post("/v1/clusters/c-000001/decisions", json=body, headers=INV)
    assert r.status_code == 422, r.text


def test_only_investigators_decide(client: TestClient) -> None:
    body = {"decision": "confirm", "reason": "x"}
    assert client.post("/v1/clusters/c-000001/decisions", json=body, headers=ENF).status_code == 403
    assert client.post("/v1/clusters/c-000001/decisions", json=body).status_code == 401
    assert client.post("/v1/clusters/nope/decisions", json=body, headers=INV).status_code == 404


def test_verdict_quality_from_decisions(client: TestClient) -> None:
    assert client.get("/v1/quality", headers=INV).json()[0]["waiting"] == 1  # one ring, undecided
    post = "/v1/clusters/{}/decisions"
    client.post(post.format("c-000001"), json={"decision": "reject", "reason": "a club"}, headers=INV)
    client.post(post.format("c-000002"), json={"decision": "confirm", "reason": "bots"}, headers=INV)
    client.post(post.format("c-000001"), json={"decision": "confirm", "reason": "second look"}, headers=INV)
    (row,) = client.get("/v1/quality", headers=INV).json()
    assert row["dataset"] == "default" and row["model_version"] == "test-model-1"
    assert (row["confirmed"], row["rejected"], row["waiting"]) == (2, 0, 0)  # the latest decision counts
    assert row["rings_confirmed"] == 1 and row["ring_precision"] == 1.0
    assert row["median_hours_to_decision"] is not None and row["median_hours_to_decision"] >= 0
    assert client.get("/v1/quality", headers=ENF).status_code == 403
    text = client.get("/metrics").text
    assert 'ringscope_ring_precision{dataset="default",model_version="test-model-1"} 1.0' in text
    labels = 'dataset="default",model_version="test-model-1",state="confirmed"'
    assert f"ringscope_decided_clusters{{{labels}}} 2.0" in text


def test_search_by_identifier(client: TestClient) -> None:
    body = client.get("/v1/entities/dev-1", headers=INV).json()
    (hit,) = body["clusters"]
    assert hit["entity_type"] == "device" and hit["kind"] == "shared" and hit["members"] == 5
    assert hit["cluster"]["cluster_id"] == "c-000001" and hit["cluster"]["verdict"] == "ring"
    assert hit["member_ids"] == []  # this evidence lists no member ids
    assert client.get("/v1/entities/dev-1", params={"type": "ip"}, headers=INV).status_code == 404
    assert client.get("/v1/entities/nothing-here", headers=INV).status_code == 404
    assert client.get("/v1/entities/dev-1", headers=ENF).status_code == 403


def test_account_lookup_by_dataset(client: TestClient) -> None:
    assert (
        client.get("/v1/accounts/a1", params={"dataset": "default"}, headers=ENF).json()["dataset"]
        == "default"
    )
    assert client.get("/v1/accounts/a1", params={"dataset": "elsewhere"}, headers=ENF).status_code == 404
    r = client.get("/v1/accounts/a1", params={"dataset": ""}, headers=ENF)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "dataset"]
    assert client.get("/v1/accounts/a1", params={"dataset": "x" * 201}, headers=ENF).status_code == 422
