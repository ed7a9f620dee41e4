"""No query can take the server's memory: each query process is capped by the operating system, the whole service's
total is checked at start, and every path that runs a client's SPARQL is under the cap.

A real server is needed: the limit is enforced on the worker processes of ``poems-kg serve``, and what is asserted
is the resident memory of its whole process tree, sampled every 100 ms while the queries run.
"""

import asyncio
import http.server
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import psutil
import pytest
from fastapi.testclient import TestClient
from pyoxigraph import Literal, NamedNode, Quad

from api.app import create_app
from api.query_pool import QueryPool, QueryRequest
from bench.http import listening, tree
from bench.memory import sampled
from kg import isolated
from kg.settings import Settings
from kg.store import KGStore, OxigraphStore, RemoteStore, StoreError
from tests.conftest import TEST_TOKENS, TOKEN_ENTRIES, running_server
from tests.test_cds import POEMS, SERVICE, hook_request

MIB = 1 << 20
WORKERS, WORKER_BYTES, MAIN_BYTES = 3, 256 * MIB, 512 * MIB
TOTAL = MAIN_BYTES + (WORKERS + 2) * WORKER_BYTES  # the workers, one admin update, the writes' validator
SORTED_CROSS_PRODUCT = "SELECT ?a ?c ?f WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f LIMIT 1"
HEAVY_UPDATE = ("INSERT { GRAPH <urn:x:g> { <urn:x:s> <urn:x:p> ?c } } WHERE { SELECT ?c WHERE { GRAPH ?g { ?a ?b ?c } "
                "GRAPH ?h { ?d ?e ?f } } ORDER BY ?c ?f LIMIT 1 }")
LIMITS = ("memory limit of 256 MiB", "time limit of 20 s")
ADMIN = {"Authorization": f"Bearer {TEST_TOKENS['root'][1]}"}
WRITER = {"Authorization": f"Bearer {TEST_TOKENS['writer'][1]}"}
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("memory"), query_workers=str(WORKERS), query_memory_bytes=str(WORKER_BYTES),
                        main_memory_bytes=str(MAIN_BYTES), query_timeout_s="20", reason_on_start="false",
                        tokens=str(TOKEN_ENTRIES).replace("'", '"')) as url:
        yield url


def peak_resident(url: str) -> AbstractContextManager[list[float]]:
    """The resident memory of the server at ``url`` and its children, sampled every 100 ms: ``[first, peak]`` in MiB."""
    return sampled(tree(listening(int(url.rsplit(":", 1)[1]))), 0.1)


def count(url: str) -> int:
    answer = httpx.get(url + "/sparql", params={"query": COUNT}, timeout=30)
    return int(answer.json()["results"]["bindings"][0]["n"]["value"])


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_three_sorted_cross_products_stop_at_the_memory_limit_and_the_total_holds(server: str) -> None:
    main = psutil.Process(listening(int(server.rsplit(':', 1)[1])))
    workers = {p.pid for p in main.children()}
    query = lambda: httpx.get(server + "/sparql", params={"query": SORTED_CROSS_PRODUCT}, timeout=60)  # noqa: E731
    with peak_resident(server) as peak:
        answers = at_once([query, query, query])
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert any(limit in answer.json()["detail"] for limit in LIMITS), answer.text
    assert "POEMS_KG_QUERY_MEMORY_BYTES" in answers[0].json()["detail"] or "POEMS_KG_QUERY_TIMEOUT_S" in answers[0].json()["detail"]
    assert 0 < peak[1] <= TOTAL / MIB, f"the tree held {peak[1]:.0f} MiB, over the total of {TOTAL / MIB:.0f} MiB"
    assert httpx.get(server + "/sparql", params={"query": "ASK { ?s ?p ?o }"}).json()["boolean"] is True
    deadline = time.monotonic() + 30
    while len(main.children()) < WORKERS and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(main.children()) == WORKERS and not workers & {p.pid for p in main.children()}  # each one replaced


def test_pages_cds_and_writes_answer_while_every_worker_is_out_of_memory(server: str) -> None:
    """While every worker runs a query that ends at its memory limit, the fixed queries (pages, CDS Hooks) run in the
    main process, and a claim write goes in whole."""
    query = lambda: httpx.get(server + "/sparql", params={"query": SORTED_CROSS_PRODUCT}, timeout=60)  # noqa: E731
    page = lambda: httpx.get(server + "/entity/MONDO:0017364", headers={"Accept": "text/html"}, timeout=60,  # noqa: E731
                             follow_redirects=True)
    cds = lambda: httpx.post(server + SERVICE, json=hook_request(POEMS), timeout=60)  # noqa: E731
    claim = {"source": "poems-cause-summary", "key": "memory-limit-write", "subject": "MONDO:0017364",
             "predicate": "biolink:associated_with", "object": "HP:0002715", "quote": "a rare paraneoplastic disorder",
             "note": "Written while every query worker runs out of memory."}
    write = lambda: httpx.post(server + "/api/v1/claims", json=claim, headers=WRITER, timeout=60)  # noqa: E731
    with peak_resident(server) as peak:
        *queries, got_page, got_cds, written = at_once([query, query, query, page, cds, write])
    assert all(q.status_code == 503 for q in queries)
    for answer in (got_page, got_cds):
        assert answer.status_code in (200, 503), answer.text
    assert got_page.status_code == 200 and "POEMS syndrome" in got_page.text
    assert got_cds.status_code == 200 and got_cds.json()["cards"]
    assert written.status_code == 201, written.text
    graphs = httpx.get(server + "/sparql", params={"query": f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} "
                                                            f"FILTER(STRSTARTS(STR(?g), '{written.json()['iri']}')) }}"}).json()
    assert {b["g"]["value"].partition("#")[2] for b in graphs["results"]["bindings"]} == {"head", "assertion", "provenance",
                                                                                       "pubinfo"}
    assert peak[1] <= TOTAL / MIB


def test_a_heavy_admin_update_stops_at_the_memory_limit_and_writes_nothing(server: str) -> None:
    before = count(server)
    with peak_resident(server) as peak:
        answer = httpx.post(server + "/sparql", content=HEAVY_UPDATE, timeout=60,
                            headers={**ADMIN, "Content-Type": "application/sparql-update"})
    assert answer.status_code == 503, answer.text
    assert any(limit in answer.json()["detail"] for limit in LIMITS) and "nothing was written" in answer.json()["detail"]
    assert peak[1] <= TOTAL / MIB
    assert count(server) == before
    ask = httpx.get(server + "/sparql", params={"query": "ASK { <urn:x:s> ?p ?o }"}).json()
    assert ask["boolean"] is False


def test_a_light_admin_update_still_applies(server: str) -> None:
    """The update runs in a process of its own, and what it changes is written as before."""
    answer = httpx.post(server + "/sparql", content='INSERT DATA { GRAPH <urn:x:notes> { <urn:x:a> <urn:x:b> "c" } }',
                        headers={**ADMIN, "Content-Type": "application/sparql-update"}, timeout=60)
    assert answer.status_code == 200 and answer.json() == {"added": 1, "removed": 0}, answer.text
    read = httpx.get(server + "/rdf-graphs/service", params={"graph": "urn:x:notes"}, headers={"Accept": "application/n-triples"})
    assert read.status_code == 200 and read.text.strip() == '<urn:x:a> <urn:x:b> "c" .'


def serve(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "poems-kg"
    return subprocess.run([str(script), "serve", "--port", "1"], env={**os.environ, **env}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)


def test_serve_refuses_settings_that_add_up_to_more_than_the_machine_has(tmp_path: Path) -> None:
    started = time.monotonic()
    refused = serve({"POEMS_KG_QUERY_MEMORY_BYTES": str(1 << 50)}, tmp_path)
    assert refused.returncode == 1
    message = " ".join(refused.stderr.split())
    assert "more than this machine has" in message and "POEMS_KG_QUERY_MEMORY_BYTES" in message, message
    assert time.monotonic() - started < 30  # refused before the store is built


def test_serve_refuses_a_main_process_over_its_allowance(tmp_path: Path) -> None:
    refused = serve({"POEMS_KG_MAIN_MEMORY_BYTES": str(64 * MIB), "POEMS_KG_REASON_ON_START": "false"}, tmp_path)
    assert refused.returncode == 1
    message = " ".join(refused.stderr.split())
    assert "after loading the store" in message and "POEMS_KG_MAIN_MEMORY_BYTES" in message, message


def test_cli_query_stops_at_the_memory_limit(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "poems-kg"
    env = {**os.environ, "POEMS_KG_QUERY_MEMORY_BYTES": str(WORKER_BYTES)}
    stopped = subprocess.run([str(script), "query", SORTED_CROSS_PRODUCT], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=300)
    assert stopped.returncode == 2 and "Traceback" not in stopped.stderr
    assert "memory limit of 256 MiB" in " ".join(stopped.stderr.split())
    fine = subprocess.run([str(script), "query", "--format", "csv", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert fine.returncode == 0 and int(fine.stdout.split()[1]) > 5000


def test_graph_store_reads_are_under_the_result_limit(store: KGStore) -> None:
    with TestClient(create_app(Settings(max_result_bytes=1000), store=store)) as client:
        graph = client.get("/sparql", params={"query": "SELECT ?g WHERE { GRAPH ?g { ?s a <http://www.w3.org/ns/prov#Entity> } } LIMIT 1"},
                           headers={"Accept": "application/sparql-results+json"}).json()["results"]["bindings"][0]["g"]["value"]
        big = client.get("/rdf-graphs/service", params={"graph": graph})
        assert big.status_code == 413 and "POEMS_KG_MAX_RESULT_BYTES" in big.json()["detail"]


class Endless(http.server.BaseHTTPRequestHandler):
    """A SPARQL server whose answer never ends."""

    def do_POST(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.end_headers()
        self.wfile.write(b'{"head": {"vars": ["s"]}, "results": {"bindings": [')
        try:
            while True:
                self.wfile.write(b'{"s": {"type": "literal", "value": "' + b"x" * 1000 + b'"}},')
        except (BrokenPipeError, ConnectionResetError):
            return

    def log_message(self, *args: object) -> None:
        pass


def test_an_endless_answer_from_a_remote_server_is_cut_at_the_result_limit() -> None:
    """Without buffering it whole: the answer never ends, so a client that waited for its end would never return."""
    endless = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=endless.serve_forever, daemon=True).start()
    try:
        remote = RemoteStore(f"http://127.0.0.1:{endless.server_address[1]}/sparql").capped(2_000_000)
        started = time.monotonic()
        with pytest.raises(StoreError) as refused:
            remote.query("SELECT ?s WHERE { ?s ?p ?o }")
        assert refused.value.status == 413 and "2000000 bytes" in str(refused.value)
        assert time.monotonic() - started < 10
    finally:
        endless.shutdown()


def test_an_update_process_given_more_than_its_limit_answers_with_the_limit() -> None:
    """Even the input of an admin update's process counts: reading it past the limit is the memory limit's 503, not a
    traceback."""
    with pytest.raises(isolated.TaskError) as stopped:
        isolated.run("update", (b"#" * (300 * MIB), "CLEAR ALL", 10), Settings(query_memory_bytes=WORKER_BYTES, query_timeout_s=60))
    assert stopped.value.status == 503 and "memory limit of 256 MiB" in stopped.value.message
    assert "Traceback" not in stopped.value.message


def _maps_jemalloc(pid: int) -> bool:
    return "libjemalloc" in Path(f"/proc/{pid}/maps").read_text()


def test_query_workers_allocate_with_jemalloc_where_the_machine_has_it(server: str) -> None:
    """Faster evaluation (README: the lookups at 100,000 claims), under the same cap: the server's workers, capped at
    the smallest setting, map jemalloc (``make test`` installs it) and answer; with ``query_allocator=system`` they
    allocate with the C library's."""
    served = tree(listening(int(server.rsplit(":", 1)[1])))()
    workers = [pid for pid in served if "api.query_pool" in psutil.Process(pid).cmdline()]
    assert len(workers) == WORKERS and all(_maps_jemalloc(pid) for pid in workers)
    assert count(server) > 1000
    store = OxigraphStore()
    store.load([Quad(NamedNode("urn:x:s"), NamedNode("urn:x:p"), Literal("o"), NamedNode("urn:x:g"))])

    async def system_workers() -> list[bool]:
        pool = QueryPool(store, 1, 10, 1_000_000, WORKER_BYTES, isolated.allocator_env("system"))
        await pool.start()
        try:
            _, body = await pool.run(QueryRequest(COUNT, accept="application/sparql-results+json"))
            assert b'"1"' in body
            return [_maps_jemalloc(pid) for pid in pool.pids()]
        finally:
            await pool.close()

    assert asyncio.run(system_workers()) == [False]


@pytest.mark.parametrize("allocator", ["jemalloc", "system"])
def test_a_worker_that_ran_a_large_query_still_answers_from_the_newest_data(allocator: str) -> None:
    """Opening a newer snapshot after a write needs memory (RocksDB's threads) that a large query before may have left
    mapped under the worker's cap: on the C library's allocator that worker cannot open it (its process ends) and a
    fresh one answers; on jemalloc, which unmaps what a query freed, the worker itself does. Never a 503."""
    store = OxigraphStore()
    store.load([Quad(NamedNode(f"urn:x:s{i}"), NamedNode(f"urn:x:p{i % 7}"), Literal(str(i)), NamedNode("urn:x:g"))
                for i in range(3000)])
    large = "SELECT ?a ?c WHERE { ?a ?b ?c . ?x ?y ?z FILTER(STRLEN(?z) < 3) } ORDER BY ?c ?z LIMIT 1"
    json = "application/sparql-results+json"

    async def after_a_write() -> tuple[bytes, bool]:
        pool = QueryPool(store, 1, 30, 1_000_000, WORKER_BYTES, isolated.allocator_env(allocator))
        await pool.start()
        try:
            await pool.run(QueryRequest(large, accept=json))
            before = pool.pids()
            store.load([Quad(NamedNode("urn:x:new"), NamedNode("urn:x:p"), Literal("new"), NamedNode("urn:x:g"))])
            await pool.refresh(store)
            return (await pool.run(QueryRequest(COUNT, accept=json)))[1], pool.pids() == before
        finally:
            await pool.close()

    answer, same_worker = asyncio.run(after_a_write())
    assert b'"3001"' in answer
    assert same_worker or allocator == "system", "on jemalloc the worker itself opens the newer snapshot"
