"""SPARQL 1.1 Update and the Graph Store HTTP Protocol for admins, through the same write gate as claim writes."""

import hashlib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pyoxigraph import RdfFormat, parse

from api.app import create_app
from kg.build import Build
from kg.compile import claim_iris
from kg.settings import Settings
from kg.store import KGStore, select_rows
from tests.conftest import contents

ENTRIES = [f"{name}:{scope}:{hashlib.sha256(secret.encode()).hexdigest()}"
           for name, scope, secret in (("root", "admin", "a-secret"), ("writer", "write", "w-secret"))]
ADMIN = {"Authorization": "Bearer a-secret"}
UPDATE = {**ADMIN, "Content-Type": "application/sparql-update"}
NOTES = "https://w3id.org/poems-kg/graph/notes"


@pytest.fixture
def store(writable_store: KGStore) -> KGStore:
    """The seed in a store the tests write to: embedded, and a real Oxigraph server."""
    return writable_store


@pytest.fixture
def client(store: KGStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(tokens=ENTRIES, reason_on_start=False), store=store)) as c:
        yield c


def test_admin_update_is_applied_recorded_and_served(client: TestClient, store: KGStore) -> None:
    update = f'INSERT DATA {{ GRAPH <{NOTES}> {{ <https://w3id.org/poems-kg/id/x> <http://www.w3.org/2000/01/rdf-schema#comment> "note" }} }}'
    response = client.post("/sparql", content=update, headers=UPDATE)
    assert response.status_code == 200 and response.json() == {"added": 1, "removed": 0}
    ask = client.get("/sparql", params={"query": f"ASK {{ GRAPH <{NOTES}> {{ ?s ?p 'note' }} }}"},
                     headers={"Accept": "application/sparql-results+json"})
    assert ask.json()["boolean"] is True
    [row] = select_rows(store.query("""SELECT ?action WHERE { GRAPH <https://w3id.org/poems-kg/graph/writes> {
        ?c <https://w3id.org/poems-kg/id/writeAction> ?action ; <https://w3id.org/poems-kg/id/quadsAdded> 1 } }"""))
    assert row["action"] == "sparql-update"


def test_form_encoded_update_works_too(client: TestClient) -> None:
    update = f'INSERT DATA {{ GRAPH <{NOTES}> {{ <https://w3id.org/poems-kg/id/x> <http://www.w3.org/2000/01/rdf-schema#comment> "n" }} }}'
    assert client.post("/sparql", data={"update": update}, headers=ADMIN).status_code == 200


def test_an_update_that_breaks_a_claim_is_rejected_and_changes_nothing(client: TestClient, store: KGStore,
                                                                       seed: Build) -> None:
    claim = claim_iris(seed.claims, seed.ns)["poems-not-inherited"]
    before = contents(store)
    update = f"DELETE WHERE {{ GRAPH <{claim}#provenance> {{ ?selector <http://www.w3.org/ns/oa#exact> ?quote }} }}"
    response = client.post("/sparql", content=update, headers=UPDATE)
    assert response.status_code == 422 and "breaks nanopublications' shapes" in response.json()["detail"]
    assert {v["claim"] for v in response.json()["report"]} == {claim}
    assert contents(store) == before


@pytest.mark.parametrize(("body", "headers", "status", "message"), [
    ("INSERT DATA { <x> }", UPDATE, 400, "cannot apply the change"),
    ("LOAD <http://127.0.0.1:9/data.ttl>", UPDATE, 400, "SERVICE and LOAD are not allowed"),
    ("INSERT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", UPDATE, 400, "not allowed"),
    ("CLEAR ALL", {"Content-Type": "application/sparql-update"}, 401, "Authorization: Bearer"),
    ("CLEAR ALL", {"Authorization": "Bearer w-secret", "Content-Type": "application/sparql-update"}, 403, "needs 'admin'"),
], ids=["malformed", "load", "service", "no-token", "write-scope"])
def test_refused_updates_change_nothing(client: TestClient, store: KGStore, body: str, headers: dict[str, str],
                                        status: int, message: str) -> None:
    before = contents(store)
    response = client.post("/sparql", content=body, headers=headers)
    assert response.status_code == status and message in response.json()["detail"]
    assert contents(store) == before


def test_update_without_tokens_is_refused(store: KGStore) -> None:
    with TestClient(create_app(Settings(reason_on_start=False), store=store)) as c:
        response = c.post("/sparql", content="CLEAR ALL", headers=UPDATE)
    assert response.status_code == 403 and "writes are not configured" in response.json()["detail"]


def test_graph_store_protocol_put_get_post_delete(client: TestClient) -> None:
    turtle = "<https://w3id.org/poems-kg/id/x> <http://www.w3.org/2000/01/rdf-schema#comment> \"first\" ."
    params = {"graph": NOTES}
    created = client.put("/rdf-graphs/service", params=params, content=turtle, headers={**ADMIN, "Content-Type": "text/turtle"})
    assert created.status_code == 201
    got = client.get("/rdf-graphs/service", params=params, headers={"Accept": "application/n-triples"})
    assert got.status_code == 200 and len(list(parse(got.content, format=RdfFormat.N_TRIPLES))) == 1
    more = '<https://w3id.org/poems-kg/id/x> <http://www.w3.org/2000/01/rdf-schema#comment> "second" .'
    assert client.post("/rdf-graphs/service", params=params, content=more,
                       headers={**ADMIN, "Content-Type": "application/n-triples"}).status_code == 204
    got = client.get("/rdf-graphs/service", params=params, headers={"Accept": "text/turtle"})
    assert len(list(parse(got.content, format=RdfFormat.TURTLE))) == 2
    assert client.put("/rdf-graphs/service", params=params, content=turtle,
                      headers={**ADMIN, "Content-Type": "text/turtle"}).status_code == 204  # replaced, not added
    assert len(list(parse(client.get("/rdf-graphs/service", params=params).content, format=RdfFormat.TURTLE))) == 1
    assert client.delete("/rdf-graphs/service", params=params, headers=ADMIN).status_code == 204
    assert client.get("/rdf-graphs/service", params=params).status_code == 404


def test_graph_store_reads_a_claims_assertion(client: TestClient, seed: Build) -> None:
    claim = claim_iris(seed.claims, seed.ns)["poems-not-inherited"]
    got = client.get("/rdf-graphs/service", params={"graph": f"{claim}#assertion"}, headers={"Accept": "text/turtle"})
    assert got.status_code == 200 and b"negated" in got.content


@pytest.mark.parametrize(("method", "content", "content_type", "status", "message"), [
    ("PUT", b"<a> <b> .", "text/turtle", 400, "not valid text/turtle"),
    ("PUT", b"{}", "application/x-www-form-urlencoded", 415, "unsupported content type"),
    ("PUT", b"", "text/turtle", 422, "breaks nanopublications' shapes"),  # empties a claim's provenance graph
], ids=["malformed-turtle", "wrong-type", "breaks-a-claim"])
def test_graph_store_refusals_change_nothing(client: TestClient, store: KGStore, seed: Build, method: str,
                                             content: bytes, content_type: str, status: int, message: str) -> None:
    claim = claim_iris(seed.claims, seed.ns)["poems-not-inherited"]
    before = contents(store)
    response = client.request(method, "/rdf-graphs/service", params={"graph": f"{claim}#provenance"}, content=content,
                              headers={**ADMIN, "Content-Type": content_type})
    assert response.status_code == status and message in response.text
    assert contents(store) == before
