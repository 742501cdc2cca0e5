"""The investigator web page (GitHub issue 7): served by ``service.web.add_web``, driven end to end
in a real browser (Debian's chromium through Playwright) against a live uvicorn over a verdict store
filled by the real detection pipeline on a generated world.

The browser tests skip, saying why, when ``/usr/bin/chromium`` (scripts/install_chromium.sh), the
``playwright`` package or the vendor files (web/build.sh) are missing; set
``RINGSCOPE_TEST_WEB=require`` to make that an error instead (CI). The page-serving tests need none.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from service.store import Store
from service.web import STATIC_DIR, add_web, vendor_missing

try:
    from tests.service_fixtures import (
        API_KEYS,
        ENFORCEMENT_KEY,
        INVESTIGATOR_KEY,
        detection_one,
        detection_two,
    )
except ImportError:  # tests/ itself on sys.path
    from service_fixtures import API_KEYS, ENFORCEMENT_KEY, INVESTIGATOR_KEY, detection_one, detection_two

try:
    from playwright.sync_api import expect
except ImportError:  # the browser tests skip (see _browser_unavailable)
    expect = None

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- the page, no browser


@pytest.fixture
def small_app(tmp_path: Path) -> Iterator[FastAPI]:
    url = f"sqlite:///{tmp_path / 'verdicts.db'}"
    store = Store(url)
    store.publish(detection_one())
    app = create_app(Settings(store_url=url, api_keys=API_KEYS), store=store)
    add_web(app)
    yield app
    store.close()


def test_page_and_assets_are_served(small_app: FastAPI) -> None:
    with TestClient(small_app) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
        assert page.headers["referrer-policy"] == "no-referrer"
        assert '<script type="module" src="/static/app.js"' in page.text
        assert '<script src="/static/vendor/cytoscape.min.js"' in page.text
        for script in ["app.js", *(f"js/{p.name}" for p in sorted((STATIC_DIR / "js").glob("*.js")))]:
            js = client.get(f"/static/{script}")
            assert js.status_code == 200 and "javascript" in js.headers["content-type"], script
        assert client.get("/static/app.css").headers["content-type"].startswith("text/css")
        # The page is public, the data is not: add_web opens no way around the key check.
        assert client.get("/v1/clusters").status_code == 401
        assert client.get("/static/nothing.js").status_code == 404
        assert client.get("/static/../web.py").status_code == 404
        assert client.get("/static/%2e%2e/web.py").status_code == 404
        assert "/" not in client.get("/openapi.json").json()["paths"]
        assert client.get("/healthz").status_code == 200


def test_page_loads_nothing_from_the_internet() -> None:
    """No CDN: every URL in the page's own files is the SVG namespace or a relative path."""
    allowed = {"http://www.w3.org/2000/svg", "http://gexf.net/1.3"}  # XML namespaces, never fetched
    names = ["index.html", "app.js", "app.css", *(f"js/{p.name}" for p in (STATIC_DIR / "js").glob("*.js"))]
    for name in names:
        text = (STATIC_DIR / name).read_text(encoding="utf-8")
        found = set(re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s'\"`)]*", text, flags=re.I))
        assert found <= allowed, f"{name} refers to {sorted(found - allowed)}"
        assert "innerHTML" not in text, f"{name}: build DOM from text, never from HTML strings"
    committed = [p for p in STATIC_DIR.rglob("*.min.js") if "vendor" not in p.relative_to(STATIC_DIR).parts]
    assert not committed, "third-party builds belong in service/static/vendor/ (gitignored)"


# --------------------------------------------------------------------------- browser fixtures


def _browser_unavailable() -> str | None:
    reasons = []
    if not CHROMIUM.is_file():
        reasons.append(f"{CHROMIUM} is missing (run scripts/install_chromium.sh)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reasons.append("the playwright package is missing (pip install playwright)")
    missing = vendor_missing()
    if missing:
        reasons.append(f"service/static/{', '.join(missing)} missing (run web/build.sh)")
    return "; ".join(reasons) or None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    reason = _browser_unavailable()
    if reason:
        if os.environ.get("RINGSCOPE_TEST_WEB") == "require":
            pytest.fail(f"RINGSCOPE_TEST_WEB=require but {reason}")
        pytest.skip(f"browser tests need: {reason}")
    from playwright.sync_api import sync_playwright

    expect.set_options(timeout=10_000)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Served:
    base: str
    store: Store


class _Server:
    """uvicorn on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def _serve(store: Store, url: str) -> _Server:
    app = create_app(Settings(store_url=url, api_keys=API_KEYS), store=store)
    add_web(app)
    return _Server(app)


@dataclass
class World:
    base: str
    store: Store
    member: str  # a ring member of the generated world, found by the pipeline
    cluster_id: str  # its cluster's stable id
    ring_ids: list[str]  # every ring cluster, in change order


@pytest.fixture(scope="module")
def world(browser: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The real pipeline (structure only, no GNN) on a 3,000-account world, published and served."""
    from graphs.events import EventLog
    from graphs.synthetic import WorldConfig, generate_world
    from service.pipeline import run_detection

    w = generate_world(WorldConfig(n_accounts=3000, seed=5))
    detection = run_detection(EventLog.from_frame(w.events), w.accounts, model=None)
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'verdicts.db'}"
    store = Store(url)
    id_map = store.publish(detection).id_map

    # A bot of the world's biggest ring whose cluster the pipeline judged a ring.
    labels = w.labels.set_index("account_id")
    acc = detection.accounts.set_index("account_id")
    bots = labels[labels["is_bot"] == 1]
    ring = bots["ring_id"].value_counts().index[0]
    candidates = sorted(a for a in bots.index[bots["ring_id"] == ring] if acc.at[a, "verdict"] == "ring")
    assert candidates, f"the pipeline found no member of world ring {ring}"
    member = candidates[0]
    cluster_id = id_map[acc.at[member, "cluster_id"]]
    members = {m["account_id"] for m in store.cluster(cluster_id)["members"]}
    assert sum(labels.at[m, "ring_id"] == ring for m in members) >= 0.8 * len(members)
    ring_ids = [c["cluster_id"] for c in store.list_clusters(verdict="ring", limit=1000).items]
    assert len(ring_ids) >= 3

    with _serve(store, url) as base:
        yield World(base, store, member, cluster_id, ring_ids)
    store.close()


@pytest.fixture(scope="module")
def small(browser: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The hand-made runs 1 and 2 of service_fixtures: verdict changes and a dissolved cluster."""
    url = f"sqlite:///{tmp_path_factory.mktemp('web-small') / 'verdicts.db'}"
    store = Store(url)
    store.publish(detection_one())
    store.publish(detection_two())
    with _serve(store, url) as base:
        yield Served(base, store)
    store.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh page (own local storage); fails the test on any uncaught script error."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(10_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"script errors on the page: {errors}"


# (Playwright's wait_for_function evaluates strings, which the page's CSP forbids: use expect.)
def _ready(page, view: str) -> None:
    page.wait_for_selector(f"#view[data-view={view}][data-state=ready]")


def _cluster_ready(page) -> None:
    _ready(page, "cluster")
    page.wait_for_selector("#view[data-members=ready]")


def _column(page, table: str, col: str) -> list[str]:
    return page.locator(f"#{table} tbody td[data-col={col}]").all_inner_texts()


def _load_all(page) -> None:
    """Clicks "Load more" until the last page is in."""
    while page.is_visible("#load-more"):
        n = page.locator("#cluster-list tbody tr").count()
        page.click("#load-more")
        expect(page.locator("#cluster-list tbody tr")).not_to_have_count(n)
        expect(page.locator("#load-more")).to_be_enabled()


# --------------------------------------------------------------------------- browser tests


def test_ring_member_lookup_shows_its_cluster(page, world: World, tmp_path: Path) -> None:
    cluster = world.store.cluster(world.cluster_id)
    graph = world.store.cluster_graph(world.cluster_id)
    members = [m["account_id"] for m in cluster["members"]]

    page.goto(world.base + "/")
    page.wait_for_selector("#key-panel:not([hidden])")
    assert page.locator("#view .errorbox").inner_text().startswith("API key needed")
    page.fill("#key-input", INVESTIGATOR_KEY)
    page.press("#key-input", "Enter")
    _ready(page, "list")
    assert page.evaluate("localStorage.getItem('ringscope.apiKey')") == INVESTIGATOR_KEY

    page.fill("#search-input", world.member)
    page.press("#search-input", "Enter")
    _cluster_ready(page)
    assert page.url.endswith(f"#/account/{world.member}")
    assert page.inner_text("#cluster-id") == world.cluster_id
    assert page.get_attribute(".cluster-head h1 .badge", "data-verdict") == "ring"
    assert page.inner_text("#cluster-size") == str(len(members))
    assert page.inner_text("#cluster-dataset") == cluster["dataset"]
    assert page.get_attribute("#account-card", "data-account") == world.member
    # The card says what the evidence knows of the account: identifiers it shares, campaigns it joined.
    ev = cluster["evidence"]
    shares = [e["id"] for e in ev["shared_entities"] if world.member in e.get("member_ids", [])]
    joined = [c["target"] for c in ev.get("campaigns", []) if world.member in c.get("member_ids", [])]
    card = page.inner_text("#account-evidence")
    assert all(x in card for x in shares + joined) and (shares or joined)

    # Members: everyone, best score first, each with its own (looked-up) verdict.
    assert _column(page, "members", "account_id") == members
    assert set(_column(page, "members", "verdict")) == {"RING"}  # badges are upper-cased by CSS
    assert page.locator("#members tbody tr.selected").get_attribute("data-key") == world.member

    # Evidence in words.
    assert page.locator("#evidence-summary li").count() == len(cluster["evidence"]["summary"])
    assert page.locator("#campaigns tbody tr").count() == len(cluster["evidence"]["campaigns"])

    # The graph: every member a node, every stored edge drawn, the searched account selected.
    assert page.evaluate("window.__cy.nodes('[!entity]').length") == len(graph["nodes"]) == len(members)
    assert page.evaluate("window.__cy.edges('[!entityLink]').length") == len(graph["edges"])
    assert page.evaluate("window.__cy.$('node.selected').id()") == world.member
    # Shared identifiers and synchronised targets are nodes of their own, linked to their members.
    listed = [e for e in cluster["evidence"]["shared_entities"] if e.get("member_ids")]
    assert page.evaluate("window.__cy.nodes('[kind = \"shared\"]').length") == len(listed)
    top = listed[0]
    node = f"entity:shared:{top['type']}:{top['id']}"
    degree = page.evaluate("id => window.__cy.getElementById(id).degree()", node)
    assert degree == len(set(top["member_ids"]) & set(members)) == top["members"]
    drawn = page.evaluate("window.__cy.edges('[!entityLink]').map(e => e.data('group'))")
    legend = page.locator("#graph-legend li").evaluate_all(
        "els => Object.fromEntries(els.map(e => [e.dataset.group, e.querySelector('.muted').textContent]))"
    )
    for group in set(drawn):
        assert legend[group] == f"({drawn.count(group)})"

    # The timeline: one dot per kept event of the cluster.
    timeline = cluster["evidence"]["timeline"]
    assert page.locator("#timeline svg circle.ev").count() == len(timeline["timestamp"])

    page.screenshot(path=str(tmp_path / "cluster.png"), full_page=True)

    # Clicking a node in the graph shows that account, in place (same graph, no reload).
    other = next(m for m in members if m != world.member)
    page.evaluate("() => { window.__cy.scratch('_keep', 1); }")  # (scratch() returns cy: don't ship it)
    page.wait_for_selector("#account-profile dl, #account-profile p:not(:has-text('Loading'))")
    page.locator("#graph").scroll_into_view_if_needed()
    page.wait_for_timeout(400)  # cytoscape re-reads where its canvas is a moment after a scroll
    pos = page.evaluate(
        "id => { const n = window.__cy.getElementById(id).renderedPosition();"
        " const r = document.getElementById('graph').getBoundingClientRect();"
        " return [r.left + n.x, r.top + n.y]; }",
        other,
    )
    page.mouse.click(*pos)
    page.wait_for_selector(f"#account-card[data-account='{other}']")
    assert page.url.endswith(f"#/account/{other}")
    assert page.evaluate("window.__cy.scratch('_keep')") == 1
    assert page.evaluate("window.__cy.$('node.selected').id()") == other

    # Sortable members: by account id (ascending), then by score twice (descending, ascending).
    page.click("#members th[data-key=account_id]")
    assert _column(page, "members", "account_id") == sorted(members)
    page.click("#members th[data-key=score]")
    page.click("#members th[data-key=score]")
    scores = [float(s) for s in _column(page, "members", "score")]
    assert scores == sorted(scores)
    # Clicking a member row shows that account too.
    page.click(f"#members tbody tr[data-key='{world.member}'] td[data-col=score]")
    page.wait_for_selector(f"#account-card[data-account='{world.member}']")
    assert page.evaluate("window.__cy.scratch('_keep')") == 1

    # Back to the plain cluster view by its link.
    page.click("#account-card a:text('close')")
    page.wait_for_selector("#account-card", state="detached")
    assert page.url.endswith(f"#/cluster/{world.cluster_id}")


def test_account_card_shows_its_profile_and_expands_neighbours(page, world: World, tmp_path: Path) -> None:
    """The card of a ring member lists its identifiers, latest events and strongest links; a button
    draws those links in the graph (accounts outside the cluster as hollow nodes)."""
    found = world.store.profile(world.member)
    p = found["profile"]
    assert p and p["identifiers"] and p["neighbours"]
    page.goto(f"{world.base}/?key={INVESTIGATOR_KEY}#/account/{world.member}")
    _cluster_ready(page)
    page.wait_for_selector("#account-neighbours")
    card = page.inner_text("#account-profile")
    assert all(x["id"] in card for x in p["identifiers"])
    assert all(e["entity_id"] in card for e in p["recent"])
    assert page.locator("#account-neighbours li").count() == len(p["neighbours"])
    members = {m["account_id"] for m in world.store.cluster(world.cluster_id)["members"]}
    outside = [n["account_id"] for n in p["neighbours"] if n["account_id"] not in members]
    before = page.evaluate("window.__cy.nodes('[!entity]').length")
    page.click("#expand-neighbours")
    assert page.evaluate("window.__cy.nodes('[!entity]').length") == before + len(outside)
    assert page.evaluate("window.__cy.edges('[?neighbour]').length") >= 1
    assert page.evaluate("window.__cy.nodes('[?outside]').length") == len(outside)
    assert page.is_disabled("#expand-neighbours")
    page.screenshot(path=str(tmp_path / "profile.png"), full_page=True)


def test_ring_list_filters_and_loads_more(page, world: World, tmp_path: Path) -> None:
    # ?key= works once and leaves the address bar; the list pages 2 at a time.
    page.goto(f"{world.base}/?key={INVESTIGATOR_KEY}#/?verdict=ring&limit=2")
    _ready(page, "list")
    assert "key=" not in page.url
    newest = world.ring_ids[::-1]  # the page lists the latest change first
    assert _column(page, "cluster-list", "cluster_id") == newest[:2]
    _load_all(page)
    assert _column(page, "cluster-list", "cluster_id") == newest
    assert set(_column(page, "cluster-list", "verdict")) == {"RING"}
    assert page.inner_text("#list-count") == f"{len(world.ring_ids)} shown"
    page.screenshot(path=str(tmp_path / "list.png"), full_page=True)

    # Filter by size.
    sizes = {c["cluster_id"]: c["size"] for c in world.store.list_clusters(verdict="ring", limit=1000).items}
    cut = sorted(sizes.values())[len(sizes) // 2]
    page.fill("#filter-min-size", str(cut))
    page.click("#list-filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"#/\?.*min_size="))
    _ready(page, "list")
    _load_all(page)
    expected = [c for c in newest if sizes[c] >= cut]
    assert _column(page, "cluster-list", "cluster_id") == expected

    # Other verdicts.
    page.select_option("#filter-verdict", "benign")
    page.click("#list-filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"#/\?.*verdict=benign"))
    _ready(page, "list")
    assert set(_column(page, "cluster-list", "verdict")) <= {"BENIGN"}

    # verdict=any (as docs/web.md writes it) lists every verdict instead of failing.
    page.goto(f"{world.base}/#/?verdict=any&limit=1000")
    _ready(page, "list")
    _load_all(page)
    shown = _column(page, "cluster-list", "verdict")
    assert "RING" in shown and len(shown) > len(world.ring_ids)

    # A row opens its cluster.
    page.goto(f"{world.base}/#/")
    _ready(page, "list")
    page.click(f"#cluster-list tbody tr[data-key='{world.ring_ids[0]}'] td[data-col=size]")
    _cluster_ready(page)
    assert page.inner_text("#cluster-id") == world.ring_ids[0]


def test_unknown_ids_and_keys_are_shown(page, world: World) -> None:
    page.goto(f"{world.base}/?key={INVESTIGATOR_KEY}#/cluster/c-999999")
    page.wait_for_selector("#view[data-state=error] .errorbox.not-found")
    assert "Cluster not found" in page.inner_text("#view .errorbox")
    assert "c-999999" in page.inner_text("#view .errorbox")

    page.fill("#search-input", "no-such-account")
    page.press("#search-input", "Enter")
    page.wait_for_selector("#view[data-view=account][data-state=error] .errorbox.not-found")
    assert "Account not found" in page.inner_text("#view .errorbox")

    # A wrong key: 401 asks for a key again.
    page.goto(f"{world.base}/?key=wrong-key#/cluster/{world.cluster_id}")
    page.wait_for_selector("#view .errorbox[data-status='401']")
    assert page.is_visible("#key-panel")
    assert "refused" in page.inner_text("#key-reason")

    # An enforcement key sees the account's verdict but not the cluster's details (403).
    page.goto(f"{world.base}/?key={ENFORCEMENT_KEY}#/account/{world.member}")
    page.wait_for_selector("#view .errorbox[data-status='403']")
    assert page.get_attribute("#account-card .badge", "data-verdict") == "ring"


def test_history_and_dissolved_clusters(page, small: Served, tmp_path: Path) -> None:
    """Run 1 then run 2 of service_fixtures: c-000002 went suspicious -> ring, c-000003 dissolved."""
    page.goto(f"{small.base}/?key={INVESTIGATOR_KEY}#/cluster/c-000002")
    _cluster_ready(page)
    assert page.get_attribute(".cluster-head h1 .badge", "data-verdict") == "ring"
    assert _column(page, "history", "change") == ["new", "verdict"]
    assert _column(page, "history", "lifecycle") == ["appeared", "same members"]  # the ring lifecycle
    assert page.evaluate("window.__cy.nodes('[!entity]').length") == 3

    page.goto(f"{small.base}/#/cluster/c-000003")
    _cluster_ready(page)
    assert page.inner_text(".cluster-head .status") == "dissolved"
    assert _column(page, "history", "change") == ["new", "dissolved"]
    assert _column(page, "history", "lifecycle") == ["appeared", "dissolved"]
    # Its former members are in no cluster now.
    assert set(_column(page, "members", "now")) == {"none"}

    # The hand-made evidence of c-000001 (its own field names) still reads.
    page.goto(f"{small.base}/#/cluster/c-000001")
    _cluster_ready(page)
    assert _column(page, "history", "lifecycle") == ["appeared", "members changed"]  # a5 out, a6 in
    assert page.locator("#evidence-summary li").count() == 1
    assert page.evaluate("window.__cy.edges().length") == 1
    page.screenshot(path=str(tmp_path / "small.png"), full_page=True)


def test_investigator_decides_from_the_cluster_view(page, small: Served, tmp_path: Path) -> None:
    """Confirm a ring with a reason from the page; the state and the audit trail follow."""
    cid = next(c["cluster_id"] for c in small.store.list_clusters(limit=100).items if c["verdict"] == "ring")
    page.goto(f"{small.base}/?key={INVESTIGATOR_KEY}#/cluster/{cid}")
    _cluster_ready(page)
    assert page.inner_text("#decision-state").lower().startswith("undecided")
    page.click("#decide-confirm")  # no reason yet: nothing is sent
    expect(page.locator("#decision-status")).to_have_text("Give a reason first.")
    page.fill("#decision-reason", "same emulator, same minute")
    page.click("#decide-confirm")
    expect(page.locator("#decision-status")).to_contain_text("Recorded: confirm")
    expect(page.locator("#decision-state")).to_contain_text("onfirmed")
    page.screenshot(path=str(tmp_path / "decided.png"), full_page=True)
    made = small.store.cluster(cid)["decisions"]
    assert [(d["decision"], d["reason"]) for d in made][-1] == ("confirm", "same emulator, same minute")
    # One member rejected: select it (a row), tick "only the selected member".
    member = small.store.cluster(cid)["members"][-1]["account_id"]
    page.click(f"#members tbody tr[data-key='{member}'] td[data-col=score]")
    page.wait_for_selector(f"#account-card[data-account='{member}']")
    page.check("#decision-member-only")
    page.fill("#decision-reason", "a real customer")
    page.click("#decide-reject")
    expect(page.locator("#decision-status")).to_contain_text(f"Recorded: reject for {member}")
    last = small.store.cluster(cid)["decisions"][-1]
    assert last["decision"] == "reject" and last["account_id"] == member


def test_list_shows_verdict_quality(page, small: Served) -> None:
    page.goto(f"{small.base}/?key={INVESTIGATOR_KEY}#/?verdict=any")
    _ready(page, "list")
    expect(page.locator("#list-quality")).to_contain_text("rings waiting")


def test_search_by_identifier_shows_its_clusters(page, world: World, tmp_path: Path) -> None:
    shared = world.store.cluster(world.cluster_id)["evidence"]["shared_entities"][0]
    page.goto(f"{world.base}/?key={INVESTIGATOR_KEY}#/")
    _ready(page, "list")
    page.fill("#search-input", shared["id"])
    page.select_option("#search-kind", "entity")
    page.click("#search-form button[type=submit]")
    _ready(page, "entity")
    assert page.inner_text("#entity-id") == shared["id"]
    assert world.cluster_id in _column(page, "entity-clusters", "cluster_id")
    assert set(_column(page, "entity-clusters", "dataset")) == {"default"}
    # The accounts on it, as the evidence lists them, each a link to its card.
    row = page.locator(f"#entity-clusters tbody tr[data-key='{world.cluster_id}'] td[data-col=member_ids] a")
    assert row.all_inner_texts() == shared["member_ids"][:12]
    page.screenshot(path=str(tmp_path / "identifier.png"), full_page=True)
    page.click(f"#entity-clusters tbody tr[data-key='{world.cluster_id}'] td[data-col=members]")
    _cluster_ready(page)
    assert page.inner_text("#cluster-id") == world.cluster_id


def test_exports_members_csv_and_gexf(page, world: World) -> None:
    page.goto(f"{world.base}/?key={INVESTIGATOR_KEY}#/cluster/{world.cluster_id}")
    _cluster_ready(page)
    with page.expect_download() as info:
        page.click("#export-csv")
    rows = Path(info.value.path()).read_text().splitlines()
    members = {m["account_id"] for m in world.store.cluster(world.cluster_id)["members"]}
    assert rows[0] == "cluster_id,verdict,account_id,score,decision"
    assert {r.split(",")[2] for r in rows[1:]} == members
    with page.expect_download() as info:
        page.click("#export-gexf")
    import networkx as nx

    g = nx.read_gexf(info.value.path())
    assert set(g.nodes) == members and g.number_of_edges() > 0


def test_list_filters_by_decision_and_order(page, world: World) -> None:
    first = world.ring_ids[0]
    world.store.decide(first, "confirm", "checked", "investigator-test")
    page.goto(f"{world.base}/?key={INVESTIGATOR_KEY}#/?verdict=ring&decision=confirmed")
    _ready(page, "list")
    assert _column(page, "cluster-list", "cluster_id") == [first]
    page.select_option("#filter-decision", "undecided")
    page.select_option("#filter-order", "feed")
    page.click("#list-filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"decision=undecided.*order=feed"))
    _ready(page, "list")
    _load_all(page)
    assert _column(page, "cluster-list", "cluster_id") == world.ring_ids[1:]
