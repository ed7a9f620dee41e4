"""Faults of the SPARQL server behind poems-kg, injected by a proxy in front of a real Oxigraph server.

A proxy is needed because the faults are those of the network and the server process: an error answer, a connection
broken after the server applied the write, no answer in time, no server at all. Each gives the client a clear 502,
504 or 503; the claim is wholly in the store or wholly absent; the service recovers when the server does.
"""

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kg.settings import Settings
from kg.store import RemoteStore, select_rows
from pipeline.build import Build
from tests.conftest import TOKEN_ENTRIES, free_port, oxigraph_server_process

WRITER = {"Authorization": "Bearer w-secret"}
CLAIM = {"source": "poems-cause-summary", "subject": "MONDO:0017364", "subject_label": "POEMS syndrome",
         "predicate": "biolink:has_attribute", "object": "MONDO:0021136", "quote": "rare", "note": "Fault test."}
TIMEOUT_S = 2.0


class FaultProxy(http.server.ThreadingHTTPServer):
    """Forwards to ``upstream``; ``fault`` says what happens to updates: None, "500", "drop-after" or "hang"."""

    def __init__(self, upstream: str, port: int | None = None) -> None:
        super().__init__(("127.0.0.1", port or free_port()), Forward)
        self.upstream, self.fault = upstream, None

    def start(self) -> "FaultProxy":
        """Serve in a background thread."""
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port: connections are refused."""
        self.shutdown()
        self.server_close()


class Forward(http.server.BaseHTTPRequestHandler):
    """One request through the proxy."""

    server: FaultProxy

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        fault = self.server.fault if self.path.startswith("/update") else None
        if fault == "500":
            self.send_error(500, "injected fault")
            return
        if fault == "hang":
            time.sleep(TIMEOUT_S * 2)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        answer = httpx.request(self.command, self.server.upstream + self.path, headers=headers, content=body, timeout=30)
        if fault == "drop-after":  # the server applied the update; its answer is lost with the connection
            self.close_connection = True
            return
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def faulty(tmp_path: Path, seed: Build) -> Iterator[tuple[TestClient, FaultProxy, RemoteStore]]:
    """poems-kg over an Oxigraph server reached through a fault proxy; also the server reached directly."""
    with oxigraph_server_process(tmp_path / "oxigraph") as url:
        direct = RemoteStore(url + "/query", url + "/update")
        direct.load(seed.quads)
        proxy = FaultProxy(url).start()
        address = f"http://127.0.0.1:{proxy.server_address[1]}"
        behind = RemoteStore(address + "/query", address + "/update", timeout_s=TIMEOUT_S)
        app = create_app(Settings(tokens=TOKEN_ENTRIES, reason_on_start=False), store=behind)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, proxy, direct
        proxy.stop()


def graphs_of(store: RemoteStore, key: str) -> int:
    """How many of the four graphs of the claim with ``key`` the server holds (0 or 4: never a part)."""
    rows = select_rows(store.query(f"""
        SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE {{
          GRAPH <https://w3id.org/poems-kg/graph/curation> {{ ?np <https://w3id.org/poems-kg/id/claimKey> "{key}" }}
          GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), STR(?np)))
        }}"""))
    return int(rows[0]["n"])


def test_server_faults_during_a_claim_write(faulty: tuple[TestClient, FaultProxy, RemoteStore]) -> None:
    client, proxy, direct = faulty
    for fault, status, key, stored in (("500", 502, "fault-500", 0), ("drop-after", 502, "fault-drop", 4),
                                       ("hang", 504, "fault-hang", None)):
        proxy.fault = fault
        started = time.perf_counter()
        response = client.post("/api/v1/claims", json={**CLAIM, "key": key, "note": key}, headers=WRITER)
        assert response.status_code == status, (fault, response.text)
        assert "the SPARQL server behind poems-kg failed" in response.json()["detail"]
        assert time.perf_counter() - started < TIMEOUT_S * 3, "the client is answered when the server is not"
        time.sleep(TIMEOUT_S * 2 if fault == "hang" else 0)  # the hung update reaches the server meanwhile, or not
        assert graphs_of(direct, key) in ((0, 4) if stored is None else (stored,)), fault
    proxy.fault = None
    assert client.post("/api/v1/claims", json={**CLAIM, "key": "fault-recovered", "note": "recovered"}, headers=WRITER).status_code == 201
    assert graphs_of(direct, "fault-recovered") == 4


def test_an_unreachable_server_answers_503_and_the_service_recovers(
        faulty: tuple[TestClient, FaultProxy, RemoteStore]) -> None:
    client, proxy, direct = faulty
    proxy.stop()
    response = client.get("/api/v1/entities/MONDO:0017364")
    assert response.status_code == 503 and "the SPARQL server behind poems-kg failed" in response.text
    assert client.post("/api/v1/claims", json={**CLAIM, "key": "fault-down", "note": "down"}, headers=WRITER).status_code == 503
    revived = FaultProxy(proxy.upstream, port=proxy.server_address[1]).start()
    try:
        assert client.get("/api/v1/entities/MONDO:0017364").status_code == 200
        assert client.post("/api/v1/claims", json={**CLAIM, "key": "fault-up", "note": "up"}, headers=WRITER).status_code == 201
        assert graphs_of(direct, "fault-down") == 0 and graphs_of(direct, "fault-up") == 4
    finally:
        revived.stop()
