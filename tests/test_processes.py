"""Several serving processes on one port (``api.processes``): every process answers, every answer sees every
acknowledged write, a process that ends is replaced, and the service's memory total holds with all of them.

A real ``poems-kg serve --processes 2`` is needed: the processes, their sockets and their memory are the subject.
"""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from api.board import Board
from bench.http import listeners, listening, tree
from bench.memory import sampled
from tests.conftest import TEST_TOKENS, TOKEN_ENTRIES, running_server
from tests.test_memory_limits import serve

MIB = 1 << 20
WORKERS, WORKER_BYTES, MAIN_BYTES = 1, 256 * MIB, 512 * MIB
TOTAL = 2 * MAIN_BYTES + (2 * WORKERS + 2) * WORKER_BYTES  # two serving processes, their workers, an update, the validator
WRITER = {"Authorization": f"Bearer {TEST_TOKENS['writer'][1]}"}
ADMIN = {"Authorization": f"Bearer {TEST_TOKENS['root'][1]}"}
CLAIMS = "/api/v1/entities/HP:0002715/claims"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <urn:x:processes> { ?s ?p ?o } }"
CONNECTIONS = 16


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("processes"), serve_processes="2", query_workers=str(WORKERS),
                        query_memory_bytes=str(WORKER_BYTES), main_memory_bytes=str(MAIN_BYTES), query_timeout_s="20",
                        reason_on_start="false", tokens=str(TOKEN_ENTRIES).replace("'", '"')) as url:
        yield url


def port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def on_fresh_connections(url: str, path: str, **params: str) -> list[httpx.Response]:
    """``path`` asked at once over ``CONNECTIONS`` new connections, which the kernel spreads over the processes."""
    def ask(_: int) -> httpx.Response:
        with httpx.Client(timeout=60) as client:
            return client.get(url + path, params=params, headers={"Accept": "application/json"})

    with ThreadPoolExecutor(CONNECTIONS) as pool:
        return list(pool.map(ask, range(CONNECTIONS)))


def count(response: httpx.Response) -> int:
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def test_each_process_accepts_on_the_port_and_all_answer_alike(server: str) -> None:
    """Two processes listen; connections go to both; they give the same answer."""
    assert len(listeners(port(server))) == 2
    clients = [httpx.Client(timeout=60) for _ in range(CONNECTIONS)]
    try:
        with ThreadPoolExecutor(CONNECTIONS) as pool:
            answers = list(pool.map(lambda c: c.get(server + "/sparql", params={"query": "SELECT (COUNT(*) AS ?n) "
                                                                                         "WHERE { ?s ?p ?o }"}), clients))
        serving = {c.pid for c in psutil.net_connections("tcp")
                   if c.laddr and c.laddr.port == port(server) and c.status == "ESTABLISHED" and c.pid}
    finally:
        for client in clients:
            client.close()
    assert {a.status_code for a in answers} == {200}
    assert len({count(a) for a in answers}) == 1 and count(answers[0]) > 1000
    assert serving == listeners(port(server)), "the kernel gave every connection to one process"


def test_a_write_through_either_process_is_seen_by_both_once_acknowledged(server: str) -> None:
    """Answers kept by each process are dropped by a write made through the other; no answer is stale."""
    before = {a.json()["total"] for a in on_fresh_connections(server, CLAIMS)}  # kept now by both processes
    assert len(before) == 1
    total = before.pop()
    for number in range(6):  # each write on a new connection: some through the follower, which passes it on
        claim = {"source": "poems-cause-summary", "key": f"processes-{number}", "subject": "MONDO:0017364",
                 "predicate": "biolink:associated_with", "object": "HP:0002715",
                 "quote": "POEMS syndrome is a rare paraneoplastic disorder", "note": f"Write {number} with two serving processes."}
        with httpx.Client(timeout=60) as client:
            written = client.post(server + "/api/v1/claims", json=claim, headers=WRITER)
        assert written.status_code == 201, written.text
        answers = on_fresh_connections(server, CLAIMS)
        assert [a.json()["total"] for a in answers] == [total + number + 1] * CONNECTIONS
        documents = on_fresh_connections(server, "/entity/HP:0002715.ttl")
        assert {d.status_code for d in documents} == {200} and len({d.text for d in documents}) == 1
        assert len({d.headers["last-modified"] for d in documents}) == 1  # the data version's, whichever process answers
    for number in range(4):  # SPARQL updates too
        update = f"INSERT DATA {{ GRAPH <urn:x:processes> {{ <urn:x:s{number}> <urn:x:p> {number} }} }}"
        with httpx.Client(timeout=60) as client:
            assert client.post(server + "/sparql", data={"update": update}, headers=ADMIN).status_code in (200, 204)
        assert {count(a) for a in on_fresh_connections(server, "/sparql", query=COUNT)} == {number + 1}


def test_a_write_without_credentials_is_refused_by_either_process(server: str) -> None:
    with ThreadPoolExecutor(CONNECTIONS) as pool:
        answers = list(pool.map(lambda _: httpx.post(server + "/sparql", data={"update": "CLEAR ALL"}, timeout=60),
                                range(CONNECTIONS)))
    assert {a.status_code for a in answers} == {401}
    assert count(httpx.get(server + "/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"})) > 1000


def test_the_memory_total_holds_with_every_process_and_its_workers(server: str) -> None:
    """Runaway queries on both processes at once: each stops at its limit; the whole tree stays under the total."""
    query = "SELECT ?a ?c ?f WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f LIMIT 1"
    with sampled(tree(listening(port(server))), 0.1) as peak:
        answers = on_fresh_connections(server, "/sparql", query=query)
    assert {a.status_code for a in answers} == {503}, {a.text for a in answers}
    assert 0 < peak[1] <= TOTAL / MIB, f"the service held {peak[1]:.0f} MiB, over the total of {TOTAL / MIB:.0f} MiB"


def test_a_follower_that_ends_is_started_again_and_reads_go_on(server: str) -> None:
    writer = listening(port(server))
    follower = next(pid for pid in listeners(port(server)) if pid != writer)
    psutil.Process(follower).kill()
    answers = on_fresh_connections(server, CLAIMS)  # meanwhile the writer takes every connection
    assert {a.status_code for a in answers} == {200}
    deadline = time.monotonic() + 60
    while len(listeners(port(server)) - {follower}) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(listeners(port(server)) - {follower}) == 2
    assert {a.status_code for a in on_fresh_connections(server, CLAIMS)} == {200}


def test_serve_counts_every_process_in_the_memory_total_and_refuses_none(tmp_path: Path) -> None:
    """64 processes of the default allowances (1 GiB each, 2 workers of 1 GiB each) cannot fit: refused before the store
    is built, naming the setting; zero processes is not a number of processes."""
    refused = serve({"POEMS_KG_SERVE_PROCESSES": "64"}, tmp_path)
    message = " ".join(refused.stderr.split())
    assert refused.returncode == 1 and "more than this machine has" in message and "POEMS_KG_SERVE_PROCESSES" in message
    assert "for each of 64 serving processes" in message and "130 query processes" in message, message
    script = Path(sys.executable).parent / "poems-kg"
    none = subprocess.run([str(script), "serve", "--processes", "0"], capture_output=True, text=True, timeout=60)
    assert none.returncode == 2 and "--processes" in none.stderr and "greater than or equal to 1" in none.stderr


def test_a_write_waits_for_every_follower_and_binds_a_late_one_to_switch_first(tmp_path: Path) -> None:
    """The writer acknowledges once each follower has switched to the write's version; a follower that has not
    within the wait is recorded as bound to switch before it answers again (``forced``)."""
    board = Board(tmp_path, followers=2)
    board.switched(1, 3)
    board.switched(2, 3)
    started = time.monotonic()
    asyncio.run(board.wait_for_followers(3, timeout_s=5))
    assert time.monotonic() - started < 1 and board.forced() == 0, "both had switched: no wait, nothing forced"
    board.switched(1, 4)  # follower 2 stays at 3
    started = time.monotonic()
    asyncio.run(board.wait_for_followers(4, timeout_s=0.2))
    assert time.monotonic() - started >= 0.2 and board.forced() == 4
    asyncio.run(board.wait_for_followers(3, timeout_s=0))
    assert board.forced() == 4, "never moved back"


def test_a_stopped_service_leaves_no_process_and_no_file_behind(tmp_path_factory: pytest.TempPathFactory,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM (what a service manager sends) ends every process and deletes their checkpoints and snapshots: with no
    store set, the store itself lives there, and each restart would leave a copy of it behind."""
    temporary = tmp_path_factory.mktemp("t")  # short: a Unix socket's path is at most 107 bytes
    monkeypatch.setenv("TMPDIR", str(temporary))
    with running_server(tmp_path_factory.mktemp("log"), serve_processes="2", query_workers="1", reason_on_start="false") as url:
        processes = [psutil.Process(pid) for pid in listeners(port(url))]
        assert len(processes) == 2
        [folder] = temporary.iterdir()  # the stores, the checkpoints, the query workers' snapshots beside each store
        assert folder.name.startswith("poems-kg-serve-") and list(folder.rglob("poems-kg-snapshot-*"))
    assert not any(p.is_running() for p in processes)
    assert list(temporary.iterdir()) == []


def test_a_folder_too_long_for_the_processes_sockets_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    """A Unix socket's path is at most 107 bytes: a service of several processes whose folder is deeper says so and
    which setting to change, not a traceback, and leaves nothing behind."""
    deep = tmp_path / ("t" * 100)
    deep.mkdir()
    ended = subprocess.run([str(Path(sys.executable).parent / "poems-kg"), "serve", "--processes", "2", "--port", "0"],
                           env=os.environ | {"TMPDIR": str(deep), "POEMS_KG_REASON_ON_START": "false"},
                           capture_output=True, text=True, timeout=120)
    assert ended.returncode == 1
    assert "too long a path" in ended.stderr and "TMPDIR" in ended.stderr and "Traceback" not in ended.stderr
    assert list(deep.iterdir()) == []
