"""HTTP as clients expect it: HEAD wherever GET is, Turtle with the project's prefixes, FHIR errors as OperationOutcome."""

import re

import pytest
from fastapi.testclient import TestClient
from fhir.resources.operationoutcome import OperationOutcome

from kg.compile import prefixes_for
from kg.namespaces import Namespaces
from kg.settings import Settings
from kg.store import OxigraphStore, select_rows

POEMS = "MONDO:0017364"
PATH_VALUES = {"curie": POEMS, "source_id": "poems-cause-summary", "/id/{name}": "idiopathic-etiology",
               "/source/{name}": "poems-cause-summary", "/dumps/{name}": "dataset.nq.gz", "section": "features"}
VARYING = {"date", "content-length", "x-cache"}  # the answer's date and whether it was kept; a length may follow a date


def filled(path: str, claim_name: str) -> str:
    """A path of the OpenAPI document with its parameters set to things the seed has."""
    def value(match: re.Match[str]) -> str:
        return PATH_VALUES.get(f"{path}", PATH_VALUES.get(match[1], claim_name)) if match[1] == "name" else PATH_VALUES[match[1]]
    return re.sub(r"\{(\w+)\}", value, path)


@pytest.fixture(scope="module")
def claim_name(store: OxigraphStore) -> str:
    ns = Namespaces(Settings().base_iri)
    row = select_rows(store.query(f"SELECT ?c WHERE {{ GRAPH ?g {{ ?c a <http://www.nanopub.org/nschema#Nanopublication> }} "
                                  f"FILTER(STRSTARTS(STR(?c), '{ns.claim}')) }} LIMIT 1"))[0]
    return str(row["c"])[len(ns.claim):]


def test_head_answers_every_get_route_as_get_does(seed_client: TestClient, claim_name: str) -> None:
    """Walks the OpenAPI document: for each GET operation, HEAD gets the same status and headers and no body."""
    paths = [filled(p, claim_name) for p, ops in seed_client.get("/openapi.json").json()["paths"].items() if "get" in ops]
    assert len(paths) >= 20
    for path in ["/", *paths]:
        got, head = seed_client.get(path), seed_client.head(path)
        assert got.status_code < 500 and head.status_code == got.status_code, path
        assert head.content == b"", path
        same = {k: v for k, v in got.headers.items() if k not in VARYING}
        assert {k: v for k, v in head.headers.items() if k not in VARYING} == same, path
        if path not in ("/sparql",):  # the service description carries the time of the answer
            assert head.headers.get("content-length") == got.headers.get("content-length"), path


def test_head_is_refused_where_get_is(seed_client: TestClient) -> None:
    response = seed_client.head("/trapi/query")
    assert response.status_code == 405 and response.headers["allow"] == "POST"


@pytest.mark.parametrize("path", ["/entity/MONDO:0017364.ttl", "/source/poems-cause-summary.ttl", "/void", "/ontology"])
def test_turtle_answers_use_the_project_prefix_table(seed_client: TestClient, path: str) -> None:
    body = seed_client.get(path, headers={"Accept": "text/turtle"}).text
    declared = dict(re.findall(r"^@prefix (\w*): <([^>]+)> \.$", body, flags=re.M))
    table = prefixes_for(Namespaces(Settings().base_iri))
    assert declared and all(table.get(prefix) == iri for prefix, iri in declared.items()), declared
    assert not re.search(r"\bns\d+:", body), "no generated prefixes"
    statements = re.sub(r"^@prefix .*$", "", body, flags=re.M)
    assert "<http://purl.obolibrary.org/obo/MONDO_" not in statements and "<http://www.w3.org/2000/01/rdf-schema#" not in statements


def test_a_claim_in_trig_uses_the_project_prefix_table(seed_client: TestClient, claim_name: str) -> None:
    body = seed_client.get(f"/np/{claim_name}.trig").text
    assert "@prefix biolink: <https://w3id.org/biolink/vocab/> ." in body and "biolink:subject" in body


@pytest.mark.parametrize(("method", "path", "params", "status", "code", "says"), [
    ("GET", "/fhir/Citation/nope", {}, 404, "not-found", "no source document 'nope' in poems-kg"),
    ("GET", "/fhir/nothing", {}, 404, "not-found", "no FHIR resource or operation at /fhir/nothing"),
    ("GET", "/fhir/ConceptMap/$translate", {"system": "http://hl7.org/fhir/sid/icd-10-cm"}, 400, "invalid",
     "give exactly one of sourceCode or targetCode"),
    ("GET", "/fhir/ConceptMap/$translate", {"system": "http://hl7.org/fhir/sid/icd-10-cm", "sourceCode": "xxx"}, 422,
     "invalid", "does not match ICD10CM identifiers"),
    ("POST", "/fhir/metadata", {}, 405, "not-supported", "POST is not supported at /fhir/metadata"),
], ids=["unknown-citation", "unknown-path", "translate-without-code", "malformed-code", "wrong-method"])
def test_fhir_errors_are_operation_outcomes(seed_client: TestClient, method: str, path: str, params: dict[str, str],
                                            status: int, code: str, says: str) -> None:
    response = seed_client.request(method, path, params=params)
    assert response.status_code == status and response.headers["content-type"] == "application/fhir+json"
    outcome = OperationOutcome.model_validate_json(response.content)
    assert [(i.severity, i.code) for i in outcome.issue] == [("error", code)]
    assert says in (outcome.issue[0].diagnostics or "")


@pytest.mark.parametrize(("path", "allow"), [("/sparql", "GET, HEAD, POST"), ("/rdf-graphs/service", "DELETE, GET, HEAD, POST, PUT"),
                                             ("/trapi/query", "POST")])
def test_a_405_names_every_method_of_the_path(seed_client: TestClient, path: str, allow: str) -> None:
    response = seed_client.request("PATCH", path)
    assert response.status_code == 405 and response.headers["allow"] == allow


def test_a_dataset_iri_that_is_not_an_iri_is_a_400_not_a_dead_worker(seed_client: TestClient) -> None:
    """Schemathesis found that ``named-graph-uri=AAA`` stopped the query worker (503); it is the client's mistake."""
    for _ in range(3):
        response = seed_client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1", "named-graph-uri": "AAA"})
        assert response.status_code == 400 and "named-graph-uri 'AAA' is not an absolute IRI" in response.json()["detail"]
    assert seed_client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}).status_code == 200


def test_the_openapi_document_lists_what_each_operation_answers(seed_client: TestClient) -> None:
    paths = seed_client.get("/openapi.json").json()["paths"]
    assert "text/turtle" in paths["/entity/{curie}"]["get"]["responses"]["200"]["content"]
    assert "text/html" in paths["/entity/{curie}"]["get"]["responses"]["200"]["content"]
    assert {"400", "406", "413", "503"} <= set(paths["/sparql"]["get"]["responses"])
    assert "application/fhir+json" in paths["/fhir/Citation/{source_id}"]["get"]["responses"]["404"]["content"]
    assert "$defs" not in seed_client.get("/openapi.json").text, "every schema resolves inside the document"
