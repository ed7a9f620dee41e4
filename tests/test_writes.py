"""Curation writes through /api/v1: authenticated, validated, transactional, recorded; rejected writes change nothing."""

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef

from api.app import create_app
from kg.namespaces import Namespaces
from kg.settings import DEFAULT_BASE_IRI, Settings
from kg.store import KGStore, OxigraphStore, remove_scratch, scratch_folder, select_rows
from kg.tokens import Agent
from pipeline import gate
from pipeline.build import Build
from pipeline.readers.folder import load_all
from shapes.validator import ValidatorProcess
from tests.conftest import KG_DIR, TOKEN_ENTRIES, contents

WRITER = {"Authorization": "Bearer w-secret"}
POEMS = "MONDO:0017364"


def claim(**overrides: Any) -> dict[str, Any]:
    body = {"source": "poems-cause-summary", "key": "immune-component-restated", "subject": POEMS,
            "predicate": "biolink:associated_with", "object": "HP:0002715",
            "quote": "POEMS syndrome is a rare paraneoplastic disorder", "note": "Written through the API."}
    return {**body, **overrides}


def test_a_written_claim_is_served_everywhere_with_its_provenance(write_client: TestClient, writable_store: KGStore) -> None:
    response = write_client.post("/api/v1/claims", json=claim(), headers=WRITER)
    assert response.status_code == 201, response.text
    iri = response.json()["iri"]
    assert response.headers["location"] == "/" + iri.split("/poems-kg/", 1)[1]
    assert write_client.get(response.headers["location"], headers={"Accept": "application/trig"}).status_code == 200
    claims = write_client.get(f"/api/v1/entities/{POEMS}/claims", params={"limit": 500}).json()["items"]
    assert iri in {c["iri"] for c in claims}
    answer = write_client.get("/sparql", params={"query": f"ASK {{ <{iri}> ?p ?o }}"}, headers={"Accept": "application/sparql-results+json"})
    assert answer.json()["boolean"] is True  # the query workers answer from a snapshot taken after the write
    [record] = select_rows(writable_store.query(f"""
        PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?who ?when ?action WHERE {{ GRAPH <https://w3id.org/poems-kg/graph/writes> {{
          <{iri}> prov:wasAttributedTo ?agent ; prov:generatedAtTime ?when ; <https://w3id.org/poems-kg/id/writeAction> ?action .
          ?agent rdfs:label ?who }} }}"""))
    assert record["who"] == "writer" and record["action"] == "create" and record["when"].startswith("20")


def test_dumps_and_void_follow_a_write(write_client: TestClient) -> None:
    triples = URIRef("http://rdfs.org/ns/void#triples")

    def published() -> tuple[str, int, int]:
        dump = gzip.decompress(write_client.get("/dumps/dataset.nq.gz").content).decode()
        void = Graph().parse(data=write_client.get("/void", headers={"Accept": "text/turtle"}).text, format="turtle")
        service = Graph().parse(data=write_client.get("/sparql", headers={"Accept": "text/turtle"}).text, format="turtle")
        return dump, int(void.value(URIRef("https://w3id.org/poems-kg/void#dataset"), triples)), int(next(service.objects(None, triples)))

    dump, size, served = published()  # the dumps and counts are made before the write
    assert size == dump.count("\n") == served
    iri = write_client.post("/api/v1/claims", json=claim(), headers=WRITER).json()["iri"]
    dump_after, size_after, served_after = published()
    assert f"<{iri}#assertion>" in dump_after and iri not in dump
    assert size_after == dump_after.count("\n") == served_after > size


def test_supersede_adds_a_correction_and_keeps_the_old_claim(write_client: TestClient) -> None:
    old = write_client.post("/api/v1/claims", json=claim(), headers=WRITER).json()["iri"]
    name = old.rsplit("/", 1)[1]
    response = write_client.post(f"/api/v1/claims/{name}/supersede", json=claim(key="immune-component-corrected",
                           certainty="consensus"), headers=WRITER)
    assert response.status_code == 201, response.text
    new = response.json()["iri"]
    trig = write_client.get("/" + new.split("/poems-kg/", 1)[1], headers={"Accept": "application/n-quads"}).text
    assert f"<http://purl.org/nanopub/x/supersedes> <{old}>" in trig
    assert write_client.get("/" + old.split("/poems-kg/", 1)[1], headers={"Accept": "application/trig"}).status_code == 200
    again = write_client.post(f"/api/v1/claims/{name}/supersede", json=claim(key="third"), headers=WRITER)
    assert again.status_code == 409 and "already superseded" in again.json()["detail"]
    listed = {c["iri"]: c for c in write_client.get(f"/api/v1/entities/{POEMS}/claims", params={"limit": 500}).json()["items"]}
    assert new in listed and old not in listed, "the correction stands in place of the claim it corrects"
    assert listed[new]["certainty"] == "consensus"
    page = write_client.get(f"/entity/{POEMS}", headers={"Accept": "text/html"}).text
    assert new.rsplit("/", 1)[1] in page and old.rsplit("/", 1)[1] not in page
    old_page = write_client.get("/" + old.split("/poems-kg/", 1)[1], headers={"Accept": "text/html"})
    assert old_page.status_code == 200 and new.rsplit("/", 1)[1] in old_page.text, "the old claim's page names its correction"


@pytest.mark.parametrize(("body", "headers", "status", "message"), [
    (claim(quote="a sentence the source never wrote"), WRITER, 422, "does not occur in source"),
    (claim(source="no-such-source"), WRITER, 422, "unknown source 'no-such-source'"),
    (claim(object="NOPE:1"), WRITER, 422, "unknown prefix 'NOPE'"),
    (claim(object="poems:an-entity-nobody-defined"), WRITER, 422, "is not defined in ontology/poems-kg.ttl"),
    (claim(evidence="GO:0001525"), WRITER, 422, "the claim violates the shapes"),
    (claim(key="poems-not-inherited", predicate="biolink:has_mode_of_inheritance", object="MONDO:0021152",
           quote="POEMS syndrome is not an inherited disease"), WRITER, 409, "claim key 'poems-not-inherited' is taken"),
    (claim(predicate="biolink:has_mode_of_inheritance", object="MONDO:0021152",
           quote="POEMS syndrome is not an inherited disease"), WRITER, 422, "contradicts a current claim of the same source"),
    (claim(direction="insufficient_evidence", negated=True), WRITER, 422, "negated: true conflicts with direction"),
    (claim(direction="maybe"), WRITER, 422, "direction"),
    (claim(certainty="hypothesis"), WRITER, 422, "certainty"),
    (claim(direction="hypothesis", certainty="established"), WRITER, 422, "has no certainty"),
    (claim(extra="field"), WRITER, 422, "Extra inputs are not permitted"),
    (claim(key="bad key with spaces"), WRITER, 422, "String should match pattern"),
    (claim(), {}, 401, "Authorization: Bearer"),
    (claim(), {"Authorization": "Bearer wrong"}, 401, "not valid"),
    (claim(), {"Authorization": "Bearer r-secret"}, 403, "has scope 'read'; this needs 'write'"),
], ids=["quote-not-in-source", "unknown-source", "unknown-prefix", "undefined-term", "shape-violation", "key-taken", "contradiction",
        "direction-conflicts-with-negated", "unknown-direction", "former-certainty", "certainty-of-a-hypothesis", "extra-field", "injection-in-key", "no-token", "wrong-token", "read-scope"])
def test_rejected_writes_change_nothing(write_client: TestClient, writable_store: KGStore, body: dict[str, Any],
                                        headers: dict[str, str], status: int, message: str) -> None:
    before = contents(writable_store)
    response = write_client.post("/api/v1/claims", json=body, headers=headers)
    assert response.status_code == status and message in json.dumps(response.json())
    assert contents(writable_store) == before


def test_a_shape_violation_comes_with_the_report(write_client: TestClient) -> None:
    body = write_client.post("/api/v1/claims", json=claim(evidence="GO:0001525"), headers=WRITER).json()
    assert any("ECO term" in v["message"] for v in body["report"])


def test_a_contradiction_names_the_claims_it_contradicts(write_client: TestClient) -> None:
    body = write_client.post("/api/v1/claims", json=claim(predicate="biolink:has_mode_of_inheritance",
                       object="MONDO:0021152", quote="POEMS syndrome is not an inherited disease"),
                       headers=WRITER).json()
    assert len(body["report"]) == 3, "the three claims of the source that dispute it"
    assert {c["disputing_quote"] for c in body["report"]} >= {"POEMS syndrome is not an inherited disease",
                                                                "You cannot pass this condition to your children"}
    assert all(c["source"].endswith("source/poems-cause-summary") for c in body["report"])


def test_a_hypothesis_about_what_the_source_calls_not_established_is_accepted(write_client: TestClient) -> None:
    """The seed says a viral cause is not clearly shown (insufficient evidence); a hypothesis on it conflicts with nothing."""
    response = write_client.post("/api/v1/claims", json=claim(
        key="viral-cause-hypothesis", subject="MONDO:0005108", predicate="biolink:causes", object=POEMS,
        direction="hypothesis", quote="unidentified viral triggers might play a role"), headers=WRITER)
    assert response.status_code == 201, response.text
    written = write_client.get(f"/api/v1/entities/{POEMS}/claims", params={"direction": "hypothesis", "limit": 500}).json()
    assert response.json()["iri"] in {c["iri"] for c in written["items"]}
    assert write_client.get("/api/v1/disagreements").json() == []


@pytest.mark.parametrize(("path", "content", "status", "message"), [
    ("/api/v1/claims", b"x" * 50_000_000, 413, "larger than the limit"),
    ("/api/v1/claims", b"[" * 500_000, 400, ""),
    ("/api/v1/claims", b"{not json", 422, "JSON decode error"),
    ("/api/v1/claims/%3E%20%7B%20DROP/supersede", json.dumps(claim()).encode(), 422, "String should match pattern"),
], ids=["huge-body", "deeply-nested", "malformed-json", "injection-in-path"])
def test_hostile_bodies_and_paths_get_4xx_and_change_nothing(write_client: TestClient, writable_store: KGStore, path: str,
                                                              content: bytes, status: int, message: str) -> None:
    before = contents(writable_store)
    response = write_client.post(path, content=content, headers={**WRITER, "Content-Type": "application/json"})
    assert response.status_code == status and message in response.text
    assert contents(writable_store) == before


def test_writes_are_refused_when_no_tokens_are_configured(writable_store: KGStore) -> None:
    with TestClient(create_app(Settings(reason_on_start=False), store=writable_store)) as c:
        response = c.post("/api/v1/claims", json=claim(), headers=WRITER)
    assert response.status_code == 403 and "writes are not configured" in response.json()["detail"]


def test_a_streamed_body_over_the_limit_is_cut_off_with_413(write_client: TestClient, writable_store: KGStore) -> None:
    before = contents(writable_store)
    chunks = (b"x" * 100_000 for _ in range(30))  # 3 MB without a Content-Length
    response = write_client.post("/api/v1/claims", content=chunks, headers={**WRITER, "Content-Type": "application/json"})
    assert response.status_code == 413 and "larger than the limit" in response.text
    assert contents(writable_store) == before


def validators() -> set[psutil.Process]:
    return {p for p in psutil.Process().children() if "shapes.validator" in p.cmdline()}


def test_the_shapes_of_a_write_run_apart_and_start_again_when_their_process_ended(seed: Build) -> None:
    """The validator process (``shapes.validator``), started by the first write, capped at the query memory limit;
    killed, the next write starts another; its reports cross back whole."""
    store = OxigraphStore()
    store.load(seed.quads)
    limit = 512 << 20
    with TestClient(create_app(Settings(tokens=TOKEN_ENTRIES, reason_on_start=False, warm_claims=0,
                                        query_memory_bytes=limit), store=store)) as client:
        assert not validators()
        assert client.post("/api/v1/claims", json=claim(), headers=WRITER).status_code == 201
        [validator] = validators()
        assert 0 < validator.rlimit(psutil.RLIMIT_DATA)[0] < limit
        validator.kill()
        validator.wait(10)
        second = claim(key="written-after-a-stop", note="Written after the validator stopped.")
        assert client.post("/api/v1/claims", json=second, headers=WRITER).status_code == 201
        assert len(validators() - {validator}) == 1
        violating = client.post("/api/v1/claims", json=claim(key="wrong-evidence", evidence="GO:0001525"), headers=WRITER)
        assert violating.status_code == 422 and any("ECO term" in v["message"] for v in violating.json()["report"])
    assert not validators(), "stopped with the server"


def test_a_write_whose_validation_stops_is_refused_and_writes_nothing(seed: Build) -> None:
    """A validator process that ends before its verdict (here: a memory limit it cannot even start under)."""
    store = OxigraphStore()
    store.load(seed.quads)
    before = contents(store)
    validator = ValidatorProcess(64 << 20)
    try:
        with pytest.raises(gate.WriteRejected) as refused:
            gate.add_claim(store, Namespaces(DEFAULT_BASE_IRI), load_all(KG_DIR, Namespaces(DEFAULT_BASE_IRI))[0],
                           claim(), Agent("writer", "write"), runner=validator)
    finally:
        validator.close()
    assert refused.value.status == 503
    assert "validation of the write stopped" in refused.value.message and "nothing was written" in refused.value.message
    assert "memory limit of 64 MiB" in refused.value.message
    assert contents(store) == before


def test_the_query_workers_snapshots_lie_beside_the_store_as_hard_links(seed: Build, tmp_path: Path) -> None:
    """Not in the temporary folder, which may be another file system (a ``/tmp`` in memory): there each write's
    snapshot would copy the whole store. Deleted with the server."""
    (tmp_path / "data").mkdir()
    store = OxigraphStore(tmp_path / "data" / "store")
    store.load(seed.quads)
    store.flush()
    with TestClient(create_app(Settings(tokens=TOKEN_ENTRIES, reason_on_start=False, warm_claims=0), store=store)) as client:
        assert client.post("/api/v1/claims", json=claim(), headers=WRITER).status_code == 201
        [folder] = (tmp_path / "data").glob("poems-kg-snapshot-*")
        newest = max(folder.glob("snapshot-*"), key=lambda f: int(f.name.rsplit("-", 1)[1]))
        assert newest.name != "snapshot-0", "a write makes a new snapshot"
        inodes = {f.stat().st_ino for f in (tmp_path / "data" / "store").glob("*.sst")}
        assert inodes & {f.stat().st_ino for f in newest.glob("*.sst")}, "the store's files, linked"
    assert not list((tmp_path / "data").glob("poems-kg-snapshot-*"))


def test_a_killed_servers_snapshots_are_deleted_by_the_next_one_a_live_ones_never(tmp_path: Path) -> None:
    """A server killed with SIGKILL cannot delete its query workers' snapshots, which keep the store's older files on
    disk: the next server beside the store deletes them. A folder whose process lives is never touched (its lock is
    held), nor one with no lock to tell (made by an older version, which may still run). Real processes, because the
    lock is the process's own."""
    made = ("import sys, time; from pathlib import Path; from kg.store import scratch_folder; "
            "print(scratch_folder('poems-kg-snapshot-', Path(sys.argv[1])), flush=True); time.sleep(600)")

    def holder() -> tuple[subprocess.Popen[str], Path]:
        process = subprocess.Popen([sys.executable, "-c", made, str(tmp_path / "store")], stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        return process, Path(process.stdout.readline().strip())

    killed, left = holder()
    alive, live = holder()
    try:
        killed.kill()
        killed.wait()
        (left / "snapshot-3").mkdir()
        unmarked = tmp_path / "poems-kg-snapshot-older"
        unmarked.mkdir()
        assert left.is_dir() and live.is_dir()
        mine = scratch_folder("poems-kg-snapshot-", tmp_path / "store")
        assert not left.exists(), "the killed process's folder is deleted"
        assert live.is_dir(), "a live process's folder is kept"
        assert unmarked.is_dir(), "a folder with no lock to tell is kept"
        remove_scratch(mine)
        assert not mine.exists()
    finally:
        alive.kill()
        alive.wait()
