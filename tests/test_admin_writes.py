"""SPARQL 1.1 Update and the Graph Store HTTP Protocol for admins, through the same write gate as claim writes."""

import pytest
from fastapi.testclient import TestClient
from pyoxigraph import RdfFormat, parse

from api.app import create_app
from kg import limits
from kg.settings import Settings
from kg.store import KGStore, select_rows
from pipeline.build import Build
from tests.conftest import contents

ADMIN = {"Authorization": "Bearer a-secret"}
UPDATE = {**ADMIN, "Content-Type": "application/sparql-update"}
NOTES = "https://w3id.org/poems-kg/graph/notes"


def test_admin_update_is_applied_recorded_and_served(write_client: TestClient, writable_store: KGStore) -> None:
    update = f'INSERT DATA {{ GRAPH <{NOTES}> {{ <https://w3id.org/poems-kg/id/x> <http://www.w3.org/2000/01/rdf-schema#comment> "note" }} }}'
    response = write_client.post("/sparql", content=update, headers=UPDATE)
    assert response.status_code == 200 and response.json() == {"added": 1, "removed": 0}
    ask = write_client.get("/sparql", params={"query": f"ASK {{ GRAPH <{NOTES}> {{ ?s ?p 'note' }} }}"},
                     headers={"Accept": "application/sparql-results+json"})
    assert ask.json()["boolean"] is True
    [row] = select_rows(writable_store.query("""SELECT ?action WHERE { GRAPH <https://w3id.org/poems-kg/graph/writes> {
        ?c <https://w3id.org/poems-kg/id/writeAction> ?action ; <https://w3id.org/poems-kg/id/quadsAdded> 1 } }"""))
    assert row["action"] == "sparql-update"


def test_an_update_is_evaluated_with_the_blank_nodes_the_store_has(write_client: TestClient, writable_store: KGStore) -> None:
    """The update runs in a process of its own on a copy of the data: a blank node there is the store's own, so an
    update that changes nothing changes nothing, and one that deletes a statement about a blank node is refused."""
    before = contents(writable_store)
    idle = write_client.post("/sparql", content=f"DELETE WHERE {{ GRAPH <{NOTES}> {{ ?s ?p ?o }} }}", headers=UPDATE)
    assert idle.status_code == 200 and idle.json() == {"added": 0, "removed": 0}
    blank = ("DELETE { GRAPH ?g { ?r a <http://www.w3.org/2002/07/owl#Restriction> } } WHERE { GRAPH ?g { ?r a "
             "<http://www.w3.org/2002/07/owl#Restriction> FILTER(isBlank(?r)) } }")
    refused = write_client.post("/sparql", content=blank, headers=UPDATE)
    assert refused.status_code == 422 and "blank nodes" in refused.json()["detail"], refused.text
    assert contents(writable_store) == before


def test_an_update_whose_copy_of_the_store_would_pass_the_memory_limit_is_refused_before_copying(
        write_client: TestClient, writable_store: KGStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only an update of data only is tried on the graphs it names; any other is tried on a copy of the whole store,
    which must fit the memory limit a query may use (the cost a quad is raised here so that the seed passes it)."""
    before = contents(writable_store)
    monkeypatch.setattr(limits, "COPY_BYTES_PER_QUAD", 10**6)
    refused = write_client.post("/sparql", content=f"DELETE WHERE {{ GRAPH <{NOTES}> {{ ?s ?p ?o }} }}", headers=UPDATE)
    assert refused.status_code == 413 and "POEMS_KG_QUERY_MEMORY_BYTES" in refused.json()["detail"], refused.text
    assert "copy of the whole store" in refused.json()["detail"] and contents(writable_store) == before
    scoped = f'INSERT DATA {{ GRAPH <{NOTES}> {{ <https://w3id.org/poems-kg/id/x> <http://www.w3.org/2000/01/rdf-schema#comment> "n" }} }}'
    assert write_client.post("/sparql", content=scoped, headers=UPDATE).status_code == 200


def test_form_encoded_update_works_too(write_client: TestClient) -> None:
    update = f'INSERT DATA {{ GRAPH <{NOTES}> {{ <https://w3id.org/poems-kg/id/x> <http://www.w3.org/2000/01/rdf-schema#comment> "n" }} }}'
    assert write_client.post("/sparql", data={"update": update}, headers=ADMIN).status_code == 200


def test_an_update_that_breaks_a_claim_is_rejected_and_changes_nothing(write_client: TestClient, writable_store: KGStore,
                                                                       seed: Build) -> None:
    claim = seed.iris["poems-not-inherited"]
    before = contents(writable_store)
    update = f"DELETE WHERE {{ GRAPH <{claim}#provenance> {{ ?selector <http://www.w3.org/ns/oa#exact> ?quote }} }}"
    response = write_client.post("/sparql", content=update, headers=UPDATE)
    assert response.status_code == 422 and "breaks nanopublications' shapes" in response.json()["detail"]
    assert {v["claim"] for v in response.json()["report"]} == {claim}
    assert contents(writable_store) == before


@pytest.mark.parametrize(("body", "headers", "status", "message"), [
    ("INSERT DATA { <x> }", UPDATE, 400, "not valid SPARQL 1.1 Update"),
    ("LOAD <http://127.0.0.1:9/data.ttl>", UPDATE, 400, "SERVICE and LOAD are not allowed"),
    ("INSERT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", UPDATE, 400, "not allowed"),
    ("CLEAR ALL", {"Content-Type": "application/sparql-update"}, 401, "Authorization: Bearer"),
    ("CLEAR ALL", {"Authorization": "Bearer w-secret", "Content-Type": "application/sparql-update"}, 403, "needs 'admin'"),
], ids=["malformed", "load", "service", "no-token", "write-scope"])
def test_refused_updates_change_nothing(write_client: TestClient, writable_store: KGStore, body: str, headers: dict[str, str],
                                        status: int, message: str) -> None:
    before = contents(writable_store)
    response = write_client.post("/sparql", content=body, headers=headers)
    assert response.status_code == status and message in response.json()["detail"]
    assert contents(writable_store) == before


def test_update_without_tokens_is_refused(writable_store: KGStore) -> None:
    with TestClient(create_app(Settings(reason_on_start=False), store=writable_store)) as c:
        response = c.post("/sparql", content="CLEAR ALL", headers=UPDATE)
    assert response.status_code == 403 and "writes are not configured" in response.json()["detail"]


def test_graph_store_protocol_put_get_post_delete(write_client: TestClient) -> None:
    turtle = "<https://w3id.org/poems-kg/id/x> <http://www.w3.org/2000/01/rdf-schema#comment> \"first\" ."
    params = {"graph": NOTES}
    created = write_client.put("/rdf-graphs/service", params=params, content=turtle, headers={**ADMIN, "Content-Type": "text/turtle"})
    assert created.status_code == 201
    got = write_client.get("/rdf-graphs/service", params=params, headers={"Accept": "application/n-triples"})
    assert got.status_code == 200 and len(list(parse(got.content, format=RdfFormat.N_TRIPLES))) == 1
    more = '<https://w3id.org/poems-kg/id/x> <http://www.w3.org/2000/01/rdf-schema#comment> "second" .'
    assert write_client.post("/rdf-graphs/service", params=params, content=more,
                       headers={**ADMIN, "Content-Type": "application/n-triples"}).status_code == 204
    got = write_client.get("/rdf-graphs/service", params=params, headers={"Accept": "text/turtle"})
    assert len(list(parse(got.content, format=RdfFormat.TURTLE))) == 2
    assert write_client.put("/rdf-graphs/service", params=params, content=turtle,
                      headers={**ADMIN, "Content-Type": "text/turtle"}).status_code == 204  # replaced, not added
    assert len(list(parse(write_client.get("/rdf-graphs/service", params=params).content, format=RdfFormat.TURTLE))) == 1
    assert write_client.delete("/rdf-graphs/service", params=params, headers=ADMIN).status_code == 204
    assert write_client.get("/rdf-graphs/service", params=params).status_code == 404


def test_graph_store_reads_a_claims_assertion(write_client: TestClient, seed: Build) -> None:
    claim = seed.iris["poems-not-inherited"]
    got = write_client.get("/rdf-graphs/service", params={"graph": f"{claim}#assertion"}, headers={"Accept": "text/turtle"})
    assert got.status_code == 200 and b"negated" in got.content


@pytest.mark.parametrize(("method", "content", "content_type", "status", "message"), [
    ("PUT", b"<a> <b> .", "text/turtle", 400, "not valid text/turtle"),
    ("PUT", b"{}", "application/x-www-form-urlencoded", 415, "unsupported content type"),
    ("PUT", b"", "text/turtle", 422, "breaks nanopublications' shapes"),  # empties a claim's provenance graph
], ids=["malformed-turtle", "wrong-type", "breaks-a-claim"])
def test_graph_store_refusals_change_nothing(write_client: TestClient, writable_store: KGStore, seed: Build, method: str,
                                             content: bytes, content_type: str, status: int, message: str) -> None:
    claim = seed.iris["poems-not-inherited"]
    before = contents(writable_store)
    response = write_client.request(method, "/rdf-graphs/service", params={"graph": f"{claim}#provenance"}, content=content,
                              headers={**ADMIN, "Content-Type": content_type})
    assert response.status_code == status and message in response.text
    assert contents(writable_store) == before


def test_a_data_update_is_checked_like_any_other(write_client: TestClient, writable_store: KGStore, seed: Build) -> None:
    """INSERT DATA / DELETE DATA into named graphs is tried on those graphs alone (it does not grow with the store),
    and still refused when it breaks a claim's shape."""
    claim = seed.iris["poems-not-inherited"]
    before = contents(writable_store)
    update = (f'DELETE DATA {{ GRAPH <{claim}#provenance> {{ <{claim}#text-quote> <http://www.w3.org/ns/oa#exact> '
              f'"POEMS syndrome is not an inherited disease" }} }}')
    response = write_client.post("/sparql", content=update, headers=UPDATE)
    assert response.status_code == 422 and {v["claim"] for v in response.json()["report"]} == {claim}
    assert contents(writable_store) == before


def test_a_data_update_that_makes_a_source_contradict_itself_is_refused(write_client: TestClient, writable_store: KGStore,
                                                                         seed: Build) -> None:
    """Turning one of two supporting claims of the source into a dispute of the same statement, by data alone."""
    claim = seed.iris["pcd-drives-poems"]
    assertion = f"<{claim}#assertion>"
    quads = parse(writable_store.dump(RdfFormat.N_QUADS), format=RdfFormat.N_QUADS)
    mine = [q for q in quads if str(q.graph_name) == assertion]
    direction = next(q for q in mine if q.predicate.value.endswith("/id/direction"))
    negated = next(q for q in mine if q.predicate.value.endswith("/negated"))
    direct = next(q for q in mine if q.predicate.value.endswith("/causes"))
    removed = " ".join(f"{q.subject} {q.predicate} {q.object} ." for q in (direction, negated, direct))
    added = (f"{direction.subject} {direction.predicate} <http://purl.obolibrary.org/obo/SEPIO_0000404> . "
             f'{negated.subject} {negated.predicate} "true"^^<http://www.w3.org/2001/XMLSchema#boolean> .')
    before = contents(writable_store)
    update = f"DELETE DATA {{ GRAPH {assertion} {{ {removed} }} }} ; INSERT DATA {{ GRAPH {assertion} {{ {added} }} }}"
    response = write_client.post("/sparql", content=update, headers=UPDATE)
    assert response.status_code == 422, response.text
    assert "contradict itself" in response.json()["detail"]
    assert {r["disputing"] for r in response.json()["report"]} == {claim}
    assert contents(writable_store) == before


def test_a_data_update_changes_what_the_store_holds_as_its_engine_compares_terms(write_client: TestClient,
                                                                                 writable_store: KGStore) -> None:
    """An update of data only is tried on the quads it names as the store holds them: inserting a held quad adds
    nothing, deleting one written in another lexical form removes it, and an insert undone in the same request
    changes nothing."""
    def update(text: str) -> dict[str, int]:
        response = write_client.post("/sparql", content=text, headers=UPDATE)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    node, count = "<https://w3id.org/poems-kg/id/data-update-fixture>", "<https://w3id.org/poems-kg/id/count>"
    comment = "<http://www.w3.org/2000/01/rdf-schema#comment>"
    held = f'GRAPH <{NOTES}> {{ {node} {count} "01"^^<http://www.w3.org/2001/XMLSchema#integer> ; {comment} "a"@en }}'
    assert update(f"INSERT DATA {{ {held} }}") == {"added": 2, "removed": 0}
    assert update(f"INSERT DATA {{ {held} }}") == {"added": 0, "removed": 0}
    before = contents(writable_store)
    undone = f'GRAPH <{NOTES}> {{ {node} {comment} "b" }}'
    assert update(f"INSERT DATA {{ {undone} }} ; DELETE DATA {{ {undone} }}") == {"added": 0, "removed": 0}
    assert update(f'DELETE DATA {{ GRAPH <{NOTES}> {{ {node} {comment} "never written" }} }}') == {"added": 0, "removed": 0}
    assert contents(writable_store) - before == set() and before - contents(writable_store) == set()
    assert update(f'DELETE DATA {{ GRAPH <{NOTES}> {{ {node} {count} 1 }} }}') == {"added": 0, "removed": 1}
    left = select_rows(writable_store.query(f"SELECT ?p ?o WHERE {{ GRAPH <{NOTES}> {{ {node} ?p ?o }} }}"))
    assert left == [{"p": comment[1:-1], "o": "a"}]
    rename = (f'DELETE DATA {{ GRAPH <{NOTES}> {{ {node} {comment} "a"@en }} }} ; '
              f'INSERT DATA {{ GRAPH <{NOTES}> {{ {node} {comment} "c"@en }} }}')  # two quads named: each looked up
    assert update(rename) == {"added": 1, "removed": 1}
    left = writable_store.query(f"SELECT ?o WHERE {{ GRAPH <{NOTES}> {{ {node} ?p ?o }} }}")
    assert [str(row["o"]) for row in left] == ['"c"@en']  # type: ignore[index, union-attr]
