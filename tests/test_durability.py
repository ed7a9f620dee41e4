"""Durability: a server killed with SIGKILL in the middle of a stream of writes loses no acknowledged write and
leaves no partial one. A real child server on an on-disk store, because the point is what survives the process."""

import hashlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.conftest import KG_DIR, free_port, wait_until_up

TOKEN = "durability-secret"
ENTRY = f"writer:write:{hashlib.sha256(TOKEN.encode()).hexdigest()}"
TEXT = (KG_DIR / "sources" / "poems-cause-summary" / "text.txt").read_text(encoding="utf-8")
PARTS = ("head", "assertion", "provenance", "pubinfo")


def serve(store: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {"POEMS_KG_STORE_PATH": str(store), "POEMS_KG_TOKENS": f'["{ENTRY}"]',
                        "POEMS_KG_REASON_ON_START": "false"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "poems-kg"), "serve", "--port", str(port)], env=env,
                               stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_until_up(process, f"http://127.0.0.1:{port}/sparql", "poems-kg serve", 120, log)
    return process


def body(i: int) -> dict[str, object]:
    quote = TEXT[i * 37: i * 37 + 30]  # a different exact passage of the source for every write
    return {"source": "poems-cause-summary", "key": f"stream-{i}", "subject": "MONDO:0017364",
            "predicate": "biolink:associated_with", "object": "HP:0002715",
            "quote": quote, "note": "Durability test write."}


def nanopublications(client: httpx.Client) -> dict[str, set[str]]:
    """Every nanopublication in the store with the parts (named graphs) it has."""
    rows = client.get("/sparql", params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"},
                      headers={"Accept": "application/sparql-results+json"}).json()["results"]["bindings"]
    out: dict[str, set[str]] = {}
    for row in rows:
        iri, _, part = row["g"]["value"].partition("#")
        if "/np/" in iri:
            out.setdefault(iri, set()).add(part)
    return out


def recorded(client: httpx.Client) -> set[str]:
    """The claims the write-provenance graph records."""
    query = "SELECT ?c WHERE { GRAPH <https://w3id.org/poems-kg/graph/writes> { ?c <http://www.w3.org/ns/prov#wasAttributedTo> ?a } }"
    rows = client.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"}).json()
    return {b["c"]["value"] for b in rows["results"]["bindings"]}


def test_sigkill_mid_stream_loses_no_acknowledged_write(tmp_path: Path) -> None:
    store, port = tmp_path / "store", free_port()
    process = serve(store, port, tmp_path / "first.log")
    acknowledged: dict[int, str] = {}
    enough = threading.Event()

    def writer() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as c:
            for i in range(200):
                try:
                    response = c.post("/api/v1/claims", json=body(i))
                except httpx.HTTPError:
                    return  # the server is gone
                assert response.status_code == 201, response.text
                acknowledged[i] = response.json()["iri"]
                if len(acknowledged) >= 8:
                    enough.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert enough.wait(120), "the server did not acknowledge 8 writes"
    process.send_signal(signal.SIGKILL)
    process.wait()
    thread.join(60)

    process = serve(store, port, tmp_path / "second.log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            parts = nanopublications(c)
            assert not [iri for iri, has in parts.items() if has != set(PARTS)], "a write was left partial"
            assert set(acknowledged.values()) <= set(parts), "an acknowledged write was lost"
            writes = recorded(c)
            assert set(acknowledged.values()) <= writes and writes <= set(parts)
            assert len(writes) - len(acknowledged) <= 1  # at most the write in flight, whole, when the server died
    finally:
        process.terminate()
        process.wait(30)
