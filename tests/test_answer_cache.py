"""Kept answers: repeated reads come from memory, no answer from before a write is served after it, and a write drops
(and computes again) only the answers that read what it touched."""

import asyncio
import gzip
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from rdflib import Graph
from rdflib.compare import isomorphic
from starlette.types import Message, Receive, Scope, Send

from api.app import create_app
from api.cache import Answer, AnswerCache, AnswerStore, _patient, kept
from kg.reads import record
from kg.settings import Settings
from kg.store import KGStore, OxigraphStore
from pipeline.build import Build
from tests.conftest import TOKEN_ENTRIES

WRITER = {"Authorization": "Bearer w-secret"}
ADMIN = {"Authorization": "Bearer a-secret"}
ONTOLOGY = "https://w3id.org/poems-kg/graph/ontology"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
POEMS = "http://purl.obolibrary.org/obo/MONDO_0017364"
PAGES = ["/entity/MONDO:0017364.html", "/entity/MONDO:0017364.ttl", "/api/v1/entities/MONDO:0017364/claims?limit=500",
         "/api/v1/conditions/MONDO:0017364/etiology", "/void"]


def read_twice(client: TestClient, path: str) -> tuple[Response, Response]:
    return client.get(path), client.get(path)


def test_a_repeated_read_is_answered_from_memory_with_the_same_answer(write_client: TestClient) -> None:
    for path in PAGES:
        first, second = read_twice(write_client, path)
        assert (first.headers["x-cache"], second.headers["x-cache"]) == ("miss", "hit"), path
        assert first.content == second.content and first.headers.get("etag") == second.headers.get("etag")


CLAIM = {"source": "poems-cause-summary", "key": "fixture-cache-claim", "subject": "MONDO:0017364",
         "subject_label": "POEMS syndrome", "predicate": "biolink:has_attribute", "object": "MONDO:0021136",
         "quote": "rare", "note": "Fixture write for the answer cache."}


def _claim_write(client: TestClient) -> str:
    response = client.post("/api/v1/claims", json=CLAIM, headers=WRITER)
    assert response.status_code == 201
    return response.headers["location"]  # the new claim's page, linked from the entity page


def _supersede(client: TestClient) -> str:
    old = _claim_write(client)
    body = {**CLAIM, "key": "fixture-cache-correction", "certainty": "consensus"}
    response = client.post(f"/api/v1/claims/{old.rsplit('/', 1)[1]}/supersede", json=body, headers=WRITER)
    assert response.status_code == 201
    return response.headers["location"]


def _admin_update(client: TestClient) -> str:
    update = f'INSERT DATA {{ GRAPH <{ONTOLOGY}> {{ <{POEMS}> <http://www.w3.org/2004/02/skos/core#altLabel> "cache fixture A"@en }} }}'
    assert client.post("/sparql", content=update, headers={**ADMIN, "Content-Type": "application/sparql-update"}).status_code == 200
    return "cache fixture A"


def _graph_store_write(client: TestClient) -> str:
    turtle = f'<{POEMS}> <http://www.w3.org/2004/02/skos/core#altLabel> "cache fixture B"@en .'
    response = client.post("/rdf-graphs/service", params={"graph": ONTOLOGY}, content=turtle,
                           headers={**ADMIN, "Content-Type": "text/turtle"})
    assert response.status_code in (200, 201, 204), response.text
    return "cache fixture B"


@pytest.mark.parametrize("write", [_claim_write, _supersede, _admin_update, _graph_store_write],
                         ids=["claim-write", "supersede", "admin-update", "graph-store-write"])
def test_after_every_kind_of_write_no_answer_from_before_is_served(write_client: TestClient,
                                                                   write: Callable[[TestClient], str]) -> None:
    before = {path: read_twice(write_client, path)[1] for path in PAGES}
    assert all(r.headers["x-cache"] == "hit" for r in before.values())
    shows = write(write_client)
    after = {path: write_client.get(path) for path in PAGES}
    # each is the new version's answer, computed by this read ("miss") or again in the background since the write
    # ("hit"): the same as an answer computed now (a request with a cookie is never answered from memory)
    fresh = {path: write_client.get(path, headers={"Cookie": "uncached=1"}) for path in PAGES}
    assert all("x-cache" not in r.headers for r in fresh.values())
    assert {p: r.content for p, r in after.items() if p != "/void"} == {p: r.content for p, r in fresh.items() if p != "/void"}
    void_after, void_fresh = (Graph().parse(data=r.text, format="turtle") for r in (after["/void"], fresh["/void"]))
    assert isomorphic(void_after, void_fresh)  # VoID's checksums are blank nodes: the same graph, other labels
    page = after["/entity/MONDO:0017364.html"]
    assert shows in page.text and shows not in before["/entity/MONDO:0017364.html"].text
    assert page.headers["etag"] != before["/entity/MONDO:0017364.html"].headers["etag"]
    assert after["/void"].content != before["/void"].content, "VoID counts the new statements"


def test_sparql_answers_are_never_kept(write_client: TestClient) -> None:
    query = {"query": "SELECT (NOW() AS ?now) WHERE {}"}
    assert "x-cache" not in write_client.get("/sparql", params=query).headers


def test_a_crawler_revalidating_a_kept_answer_gets_304_until_a_write(write_client: TestClient) -> None:
    etag = write_client.get(PAGES[0]).headers["etag"]
    revalidated = write_client.get(PAGES[0], headers={"If-None-Match": etag})
    assert revalidated.status_code == 304 and revalidated.content == b""
    assert revalidated.headers["etag"] == etag and "Accept" in revalidated.headers["vary"]
    stale = write_client.get(PAGES[0], headers={"If-None-Match": '"an-old-version"'})
    assert stale.status_code == 200 and stale.headers["etag"] == etag
    _claim_write(write_client)
    changed = write_client.get(PAGES[0], headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag, "a write makes the old ETag stale"


def test_compressed_and_cross_origin_answers_are_kept_apart(write_client: TestClient) -> None:
    path = "/entity/MONDO:0017364.ttl"
    plain, packed = write_client.get(path, headers={"Accept-Encoding": "identity"}), write_client.get(path)
    assert "content-encoding" not in plain.headers and packed.headers["content-encoding"] == "gzip"
    again = write_client.get(path, headers={"Accept-Encoding": "identity"})
    assert again.headers["x-cache"] == "hit" and "content-encoding" not in again.headers
    assert again.content == plain.content == packed.content  # httpx decodes the gzip body
    origin = {"Origin": "https://app.example.org", "Accept-Encoding": "identity"}
    assert "access-control-allow-origin" not in again.headers
    crossed = [write_client.get(path, headers=origin) for _ in range(2)]
    assert [r.headers["x-cache"] for r in crossed] == ["miss", "hit"]
    assert all(r.headers["access-control-allow-origin"] == "*" for r in crossed)


def test_a_full_cache_evicts_the_least_recently_used_answer(seed: Build) -> None:
    store = OxigraphStore()
    store.load(seed.quads)
    with TestClient(create_app(Settings(answer_cache_entries=2, reason_on_start=False), store=store)) as client:
        for path in PAGES[:3]:
            client.get(path)
        assert len(client.app.state.answers.entries) == 2  # type: ignore[attr-defined]
        assert client.get(PAGES[0]).headers["x-cache"] == "miss", "the oldest answer was evicted"
        assert client.get(PAGES[2]).headers["x-cache"] == "hit"


def test_an_answer_kept_twice_is_counted_once() -> None:
    """An answer kept again under its key replaces the old one: the byte count must not grow with it."""
    answers = AnswerStore(max_entries=10, max_bytes=1000)
    for _ in range(5):
        answers.put(("v1", "/x"), b"x" * 100, 100)
    assert (len(answers.entries), answers.size) == (1, 100)
    answers.put(("v1", "/y"), b"y" * 200, 200)
    assert answers.size == 300 and answers.get(("v1", "/x")) is not None, "nothing was evicted for phantom bytes"


def test_concurrent_misses_of_one_answer_compute_it_once() -> None:
    """Sixteen clients asking at once for an answer nobody has asked for yet cost one computation, not sixteen."""
    answers = AnswerStore(max_entries=10, max_bytes=1000)
    computed = 0

    async def compute() -> str:
        nonlocal computed
        computed += 1
        await asyncio.sleep(0.05)
        return "the answer"

    async def sixteen() -> list[str]:
        return await asyncio.gather(*(kept(answers, ("v1", "/x"), compute, len) for _ in range(16)))

    assert asyncio.run(sixteen()) == ["the answer"] * 16 and computed == 1
    assert not answers.pending, "no request is left waiting"


def test_a_failed_computation_wakes_the_waiters_and_is_not_kept() -> None:
    answers = AnswerStore(max_entries=10, max_bytes=1000)

    async def fail() -> str:
        await asyncio.sleep(0.01)
        raise RuntimeError("the store is gone")

    async def two() -> list[str | BaseException]:
        return list(await asyncio.gather(*(kept(answers, "k", fail, len) for _ in range(2)), return_exceptions=True))

    assert all(isinstance(r, RuntimeError) for r in asyncio.run(two())) and not answers.entries and not answers.pending


def test_an_answer_too_large_to_keep_is_computed_by_the_waiters_at_once_not_in_turn() -> None:
    """The first request's answer is not kept (over a quarter of the byte limit): those that waited for it compute it
    side by side, so that a large answer does not queue every request behind the one before."""
    answers = AnswerStore(max_entries=10, max_bytes=100)
    running = peak = computed = 0

    async def compute() -> str:
        nonlocal running, peak, computed
        running, computed = running + 1, computed + 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        return "x" * 50

    async def eight() -> list[str]:
        return await asyncio.gather(*(kept(answers, "big", compute, len) for _ in range(8)))

    assert asyncio.run(eight()) == ["x" * 50] * 8
    assert computed == 8 and peak == 7 and not answers.entries and not answers.pending


def test_under_a_stream_of_writes_a_popular_answer_is_computed_once_at_a_time() -> None:
    """A write lands while each computation of an answer runs, so none can be kept: the requests that waited for one
    take turns computing it, one at a time, instead of all at once (which, with 16 readers and a few writes a second,
    took reads from 13,500 to 900 a second); each still gets a complete answer, and once the writes stop it is kept."""
    answers = AnswerStore(max_entries=10, max_bytes=10_000)
    running = peak = computed = 0
    writes_left = 3

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal running, peak, computed, writes_left
        running, computed = running + 1, computed + 1
        peak = max(peak, running)
        record(["https://example.org/a"])
        await asyncio.sleep(0.01)
        if writes_left:  # a claim about it commits meanwhile
            writes_left -= 1
            answers.drop(answers.stale({"https://example.org/a"}))
        running -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"the answer"})

    cache = AnswerCache(app, answers)

    async def get() -> bytes:
        body = b""

        async def send(message: Message) -> None:
            nonlocal body
            body += message.get("body", b"")

        scope = {"type": "http", "method": "GET", "path": "/x", "query_string": b"", "headers": []}
        await cache(scope, _patient(), send)
        return body

    async def eight() -> list[bytes]:
        return await asyncio.gather(*(get() for _ in range(8)))

    assert asyncio.run(eight()) == [b"the answer"] * 8
    assert peak == 1 and computed == 4, (peak, computed)  # three made stale by a write, the fourth kept
    assert len(answers.entries) == 1 and not answers.pending


def test_a_claim_write_shows_at_once_on_every_surface(write_client: TestClient) -> None:
    """Pages, JSON, the CDS card, the claim's own document, the dumps, VoID and /sparql: all read the new claim."""
    from tests.test_cds import POEMS as POEMS_CONDITION
    from tests.test_cds import SERVICE, hook_request

    def surfaces() -> dict[str, bytes]:
        cards = write_client.post(SERVICE, json=hook_request(POEMS_CONDITION)).json()["cards"]
        return {"page": write_client.get("/entity/MONDO:0017364.html").content,
                "etiology": write_client.get("/api/v1/conditions/MONDO:0017364/etiology").content,
                "card": "\n".join(c["detail"] for c in cards).encode(),
                "dump": gzip.decompress(write_client.get("/dumps/dataset.nq.gz").content),
                "void": write_client.get("/void").content}

    before = surfaces()
    etag = write_client.get("/entity/MONDO:0017364.html").headers["etag"]
    hypothesis = {"source": "poems-cause-summary", "key": "fixture-toxin-hypothesis", "subject": "ECTO:0000537",
                  "subject_label": "exposure to toxin", "predicate": "biolink:contributes_to", "object": "MONDO:0017364",
                  "direction": "hypothesis", "quote": "environmental toxins", "note": "Fixture write: every surface."}
    written = write_client.post("/api/v1/claims", json=hypothesis, headers=WRITER)
    assert written.status_code == 201, written.text
    iri = written.json()["iri"]
    after = surfaces()
    code = iri.rsplit("/", 1)[1].encode()  # the page links /np/<code>; JSON and dumps hold the whole IRI
    assert [name for name in ("page", "etiology", "dump") if code in before[name]] == []
    assert [name for name in ("page", "etiology", "dump") if code not in after[name]] == [], "pages, JSON and dumps"
    line = b'- "environmental toxins"'
    assert after["card"].count(line) == before["card"].count(line) + 1, "the CDS card quotes the new hypothesis"
    assert after["void"] != before["void"]
    assert write_client.get("/entity/MONDO:0017364.html").headers["etag"] != etag
    assert write_client.get(written.headers["location"]).status_code == 200, "the claim's own page"
    ask = write_client.get("/sparql", params={"query": f"ASK {{ <{iri}> ?p ?o }}"},
                           headers={"Accept": "application/sparql-results+json"})
    assert ask.json()["boolean"] is True


UNTOUCHED = ["/entity/ECTO:0001078.html", "/entity/ECTO:0001078.ttl", "/api/v1/entities/ECTO:0001078",
             "/api/v1/conditions/ECTO:0001078/etiology", "/source/hpo-phenotype-annotations"]


def test_a_claim_write_keeps_the_answers_it_does_not_touch(write_client: TestClient) -> None:
    """A claim about POEMS syndrome from the seed text: the pages of another entity and of another source read none of
    what it touched (its claim, subject, object, source), so they stay kept; the home page and VoID read everything."""
    for path in [*UNTOUCHED, "/", "/void"]:
        read_twice(write_client, path)
    _claim_write(write_client)
    kept_answers = {path: write_client.get(path) for path in UNTOUCHED}
    assert {path: r.headers["x-cache"] for path, r in kept_answers.items()} == dict.fromkeys(UNTOUCHED, "hit")
    home = write_client.get("/")
    assert "fixture-cache-claim" not in home.text or home.headers["x-cache"] == "hit"  # recomputed, never the old one
    assert write_client.get("/void").headers.get("x-cache") in ("miss", "hit")


def test_the_answers_a_write_drops_are_computed_again_in_the_background(write_client: TestClient) -> None:
    """So that the next reader of a touched page finds it kept, with the write in it."""
    import time

    page = "/entity/MONDO:0017364.html"
    read_twice(write_client, page)
    location = _claim_write(write_client)
    deadline = time.monotonic() + 30
    while (answer := write_client.get(page, headers={"Accept-Encoding": "gzip"})).headers["x-cache"] != "hit":
        assert time.monotonic() < deadline, "not computed again"
        time.sleep(0.05)
    assert location.rsplit("/", 1)[1] in answer.text


def test_a_write_computes_the_answers_it_changed_before_it_is_acknowledged(writable_store: KGStore) -> None:
    """Within ``answer_renew_ms``, the first reader after the write finds the touched pages kept, with the write in
    them: nobody waits for them to be computed (a hot page no longer stalls its readers at every write)."""
    settings = Settings(tokens=TOKEN_ENTRIES, reason_on_start=False, answer_renew_ms=60_000)
    touched = ["/entity/MONDO:0017364.html", "/api/v1/entities/MONDO:0017364/claims?limit=500", "/entity/MONDO:0017364.ttl"]
    with TestClient(create_app(settings, store=writable_store)) as client:
        plain = {"Accept-Encoding": "identity"}  # kept uncompressed, so that the kept bodies can be read here
        for path in touched:
            client.get(path, headers=plain)
        name = _claim_write(client).rsplit("/", 1)[1]
        kept_now = {key[2] + ("?" + key[3].decode() if key[3] else "")
                    for key, (answer, _) in client.app.state.answers.entries.items()
                    if isinstance(answer, Answer) and name.encode() in answer.body}
        assert kept_now == set(touched), "kept, with the write, when the write was acknowledged"
        for path in touched:
            answer = client.get(path, headers=plain)
            assert answer.headers["x-cache"] == "hit" and name in answer.text, path


def test_an_answer_computed_across_a_write_that_touched_it_is_not_kept() -> None:
    answers = AnswerStore(10, 10_000)
    since = answers.writes
    answers.drop(answers.stale({"https://example.org/a"}))
    assert not answers.still_current(since, frozenset({"https://example.org/a", "https://example.org/b"}))
    assert answers.still_current(since, frozenset({"https://example.org/c"}))
    assert not answers.still_current(since, None), "an answer that read the whole store"
    answers.drop(answers.stale(None))
    assert not answers.still_current(since, frozenset({"https://example.org/c"})), "an admin write touches everything"
    answers.put("kept", Answer(200, [], b"x", frozenset({"https://example.org/c"})), 1)
    answers.put("whole", Answer(200, [], b"y", None), 1)
    assert [a.body for _, a in answers.drop(answers.stale({"https://example.org/c"}))] == [b"x", b"y"] and not answers.entries


CLAIM_LISTS = ["/entity/MONDO:0017364.ttl", "/entity/MONDO:0017364.html", "/api/v1/entities/MONDO:0017364/claims?limit=500",
               "/api/v1/conditions/MONDO:0017364/etiology", "/api/v1/conditions/MONDO:0017364/etiology/features?limit=7"]


def test_claim_lists_built_from_kept_claims_equal_lists_read_from_the_store(writable_store: KGStore) -> None:
    """What each claim contributes to a list (its details, its RDF description) is kept between answers, so that a
    write re-lists a hub from the parts kept and the new claim's alone. After a claim write, a correction, and an
    admin update that renames the subject of many claims, each list equals the one a server keeping nothing reads from
    the store: no part from before the write that changed it is used."""
    settings = Settings(tokens=TOKEN_ENTRIES, reason_on_start=False)
    label = writable_store.query(f"SELECT ?l WHERE {{ GRAPH <{ONTOLOGY}> {{ <{POEMS}> <{RDFS_LABEL}> ?l }} }}")
    old = next(iter(label))["l"]  # type: ignore[index, call-overload]
    rename = (f"DELETE DATA {{ GRAPH <{ONTOLOGY}> {{ <{POEMS}> <{RDFS_LABEL}> {old} }} }} ;\n"
              f'INSERT DATA {{ GRAPH <{ONTOLOGY}> {{ <{POEMS}> <{RDFS_LABEL}> "POEMS syndrome, renamed"@en }} }}')
    keeping_nothing = settings.model_copy(update={"answer_cache_entries": 0, "claim_parts_bytes": 0})
    with TestClient(create_app(settings, store=writable_store)) as client, \
            TestClient(create_app(keeping_nothing, store=writable_store)) as plain:

        def lists_agree(variant: str) -> None:  # a query string of its own: computed now, from the parts kept
            for path in CLAIM_LISTS:
                kept_list = client.get(f"{path}{'&' if '?' in path else '?'}v={variant}")
                assert kept_list.headers["x-cache"] == "miss" and kept_list.content == plain.get(path).content, path

        lists_agree("warm")
        parts = {key[1] for key in client.app.state.parts.entries}
        assert len(parts) > 40, "each listed claim's parts are kept"
        new = _claim_write(client).rsplit("/", 1)[1]
        lists_agree("claim")
        response = client.post(f"/api/v1/claims/{new}/supersede", headers=WRITER,
                               json={**CLAIM, "key": "fixture-parts-correction", "certainty": "consensus"})
        assert response.status_code == 201
        correction = response.headers["location"].rsplit("/", 1)[1]
        lists_agree("correction")
        before = dict(client.app.state.parts.entries)
        assert client.post("/sparql", content=rename,
                           headers={**ADMIN, "Content-Type": "application/sparql-update"}).status_code == 200
        lists_agree("renamed")
        after = client.app.state.parts.entries
        assert not any(after[key][0] is part for key, (part, _) in before.items() if key in after), \
            "an admin write drops every kept part (those kept now were computed after it)"
        claims = client.get("/api/v1/entities/MONDO:0017364/claims?limit=500").json()["items"]
        listed = {c["iri"].rsplit("/", 1)[1] for c in claims}
        assert correction in listed and new not in listed, "the correction stands in place of the claim it corrects"
        assert "POEMS syndrome, renamed" in {c["subject"]["label"] for c in claims}


def test_a_term_with_two_labels_is_named_by_the_least_in_every_list(write_client: TestClient) -> None:
    """Whatever order the engine gives a term's labels in, every claim names it by the same one (the least), in the
    claims list as in the etiology summary: an answer computed again after a write must not rename it."""
    second = f'INSERT DATA {{ GRAPH <{ONTOLOGY}> {{ <{POEMS}> <{RDFS_LABEL}> "POEMS syndrome (a second label)"@en }} }}'
    assert write_client.post("/sparql", content=second,
                             headers={**ADMIN, "Content-Type": "application/sparql-update"}).status_code == 200
    claims = write_client.get("/api/v1/entities/MONDO:0017364/claims?limit=500").json()["items"]
    etiology = write_client.get("/api/v1/conditions/MONDO:0017364/etiology").json()
    named = [term["label"] for c in [*claims, *etiology["mechanism"], *etiology["inheritance"]]
             for term in (c["subject"], c["object"]) if term["iri"] == POEMS]
    assert len(named) > 10 and set(named) == {"POEMS syndrome"}


def test_the_largest_lists_are_computed_at_start_and_answer_as_if_computed_on_request(store: OxigraphStore) -> None:
    """A serving process computes, in the background once it answers, the lists of the entities and sources with at
    least ``warm_claims`` claims (``api.warm``): their claims' heads, the details its etiology shows, the order of a
    source's quotes. Their first answers equal those of a server that computed nothing at start; smaller ones are left
    for their readers."""
    from kg.named_queries import run_query
    from kg.namespaces import Namespaces
    from kg.store import select_rows

    ns = Namespaces(Settings().base_iri)
    busiest = select_rows(run_query(store, ns, "busiest"))
    assert [(r["about"].rsplit("/", 1)[1], r["source"]) for r in busiest[:3]] == [
        ("MONDO_0017364", "false"), ("hpo-phenotype-annotations", "true"), ("poems-cause-summary", "true")]
    assert int(busiest[2]["claims"]) >= 30 > int(busiest[3]["claims"]), "the seed's three largest lists, and no more"
    settings = Settings(reason_on_start=False, warm_claims=30)
    paths = [*CLAIM_LISTS, "/source/hpo-phenotype-annotations.ttl?page=1", "/source/poems-cause-summary.html"]
    with TestClient(create_app(settings, store=store)) as client, \
            TestClient(create_app(settings.model_copy(update={"warm_claims": 0}), store=store)) as plain:

        async def warmed() -> None:
            await client.app.state.warming

        client.portal.call(warmed)
        state = client.app.state
        about = {r["claim"] for r in select_rows(run_query(store, ns, "claims-about", SUBJECT=POEMS, OBJECT=POEMS))}
        heads = {key[1] for key in state.parts.entries if key[0] == "head"}
        assert about <= heads, "every claim about POEMS syndrome has its head kept"
        assert len({key[1] for key in state.parts.entries if key[0] == "details"}) >= 20, "its etiology's claims in full"
        assert set(state.spans._order) == {r["about"] for r in busiest[1:3]}, "the order of the two largest sources' quotes"
        for path in paths:
            first = client.get(path)
            assert first.headers["x-cache"] == "miss" and first.content == plain.get(path).content, path
