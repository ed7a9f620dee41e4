"""The SPARQL endpoint through the real ASGI app."""

import csv
import io
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef

from api.app import create_app
from kg.queries import example_queries
from kg.settings import DEFAULT_BASE_IRI, Settings
from kg.store import KGStore, OxigraphStore
from pipeline.build import build
from tests.conftest import add_second_opinion

COUNT = 'SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?g), "https://w3id.org/poems-kg/")) }'


@pytest.fixture(scope="module")
def client(api_store: KGStore):
    with TestClient(create_app(Settings(), store=api_store)) as c:
        yield c


@pytest.mark.parametrize(("accept", "content_type"), [
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("*/*", "application/sparql-results+json"),
])
def test_select_formats(client: TestClient, accept: str, content_type: str) -> None:
    response = client.get("/sparql", params={"query": COUNT}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)
    assert "Accept" in response.headers["vary"]


def test_select_json_counts_every_quad(client: TestClient, api_store: KGStore) -> None:
    data = client.post("/sparql", content=COUNT, headers={"Content-Type": "application/sparql-query"}).json()
    assert int(data["results"]["bindings"][0]["n"]["value"]) == len(api_store)


def test_form_post(client: TestClient) -> None:
    response = client.post("/sparql", data={"query": "ASK { ?s ?p ?o }"}, headers={"Accept": "application/sparql-results+json"})
    assert response.json()["boolean"] is True


@pytest.mark.parametrize(("accept", "rdflib_format"), [
    ("text/turtle", "turtle"), ("application/n-triples", "nt"), ("application/ld+json", "json-ld"),
    ("application/rdf+xml", "xml"),
])
def test_construct_formats_parse_back(client: TestClient, accept: str, rdflib_format: str) -> None:
    query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s a <https://w3id.org/biolink/vocab/Association> ; ?p ?o }"
    response = client.get("/sparql", params={"query": query}, headers={"Accept": accept})
    assert response.status_code == 200
    graph = Graph().parse(data=response.content, format=rdflib_format)
    assert len(graph) > 100


# Example queries with no answer on the seed, and why (tests/test_disagreements.py runs this one on two sources).
EMPTY_ON_THE_SEED = {"opposing-claims": "the seed is one source, and a source that contradicts itself is refused"}


@pytest.mark.parametrize("named", example_queries(), ids=lambda q: q.name)
def test_example_queries_return_rows(client: TestClient, named) -> None:
    response = client.get("/sparql", params={"query": named.text}, headers={"Accept": "text/csv"})
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert bool(rows) != (named.name in EMPTY_ON_THE_SEED), named.name


def test_malformed_query_is_400_with_position(client: TestClient) -> None:
    response = client.get("/sparql", params={"query": "SELECT ?s WHERE { ?s ?p }"})
    assert response.status_code == 400
    assert response.json()["detail"] == ("malformed query: line 1, column 26: unexpected input "
                                         "(after '}', at the end of the query)")


def test_an_undeclared_prefix_is_named_in_one_line(client: TestClient) -> None:
    """Not the engine's wall of Unicode ranges: where, which prefix, and what to add."""
    response = client.get("/sparql", params={"query": "SELECT * WHERE {\n  ?s mondo:x ?o\n}"})
    assert response.status_code == 400
    assert response.json()["detail"] == ("malformed query: line 2, column 13: the prefix 'mondo:' is not declared "
                                         "(add PREFIX mondo: <...>)")


def test_unsupported_format_is_406(client: TestClient) -> None:
    response = client.get("/sparql", params={"query": COUNT}, headers={"Accept": "image/png"})
    assert response.status_code == 406


def test_wrong_content_type_is_415(client: TestClient) -> None:
    response = client.post("/sparql", content=COUNT, headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_update_is_refused_read_only(client: TestClient) -> None:
    response = client.post("/sparql", content="DELETE WHERE { ?s ?p ?o }", headers={"Content-Type": "application/sparql-update"})
    assert response.status_code == 403
    assert client.post("/sparql", data={"update": "CLEAR ALL"}).status_code == 403


def test_service_to_outside_is_refused(client: TestClient) -> None:
    response = client.get("/sparql", params={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"})
    assert response.status_code == 400
    assert "SERVICE" in response.json()["detail"]


def test_service_description_and_query_page(client: TestClient, api_store: KGStore) -> None:
    sd = client.get("/sparql", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=sd.text, format="turtle")
    assert any("sparql-service-description#Service" in str(o) for o in graph.objects())
    assert [int(n) for n in graph.objects(None, URIRef("http://rdfs.org/ns/void#triples"))] == [len(api_store)]
    page = client.get("/sparql", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert "Mechanism chain" in page.text


def test_default_graph_is_union_but_can_be_narrowed(client: TestClient) -> None:
    query = "ASK { ?s <https://w3id.org/biolink/vocab/subject> ?o }"
    union = client.get("/sparql", params={"query": query}).json()["boolean"]
    narrowed = client.get("/sparql", params={"query": query, "default-graph-uri": "https://w3id.org/poems-kg/graph/sources"}).json()
    assert union is True and narrowed["boolean"] is False


def test_result_size_limit(api_store: KGStore) -> None:
    with TestClient(create_app(Settings(max_result_bytes=100), store=api_store)) as small:
        response = small.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert response.status_code == 413
    assert json.loads(response.text)["detail"].startswith("the result is larger than 100 bytes")


EXPLOSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # ~4e9 rows on the seed


def test_runaway_query_is_stopped_while_others_answer(store: OxigraphStore) -> None:
    """Embedded store: its worker is killed (a remote server stops runaway queries with its own time limit)."""
    with TestClient(create_app(Settings(query_timeout_s=1.5, query_workers=2), store=store)) as c:
        pool = c.app.state.pool
        before = set(pool.pids())
        with ThreadPoolExecutor(1) as executor:
            runaway = executor.submit(c.get, "/sparql", params={"query": EXPLOSIVE})
            time.sleep(0.3)
            quick = c.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
            assert quick.status_code == 200 and quick.json()["boolean"] is True
            stopped = runaway.result(timeout=30)
        assert stopped.status_code == 503
        assert "exceeded the time limit of 1.5 s" in stopped.json()["detail"]
        killed = before - set(pool.pids())
        assert len(killed) == 1, "the worker running the runaway query is killed"
        assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in killed)
        for _ in range(3):  # the pool is whole again: a replacement worker answers
            assert c.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}).status_code == 200


@pytest.mark.parametrize(("params", "headers"), [
    ({"query": "SELECT ?label WHERE { <http://purl.obolibrary.org/obo/MONDO_0017364> ?p ?label } ORDER BY ?label"},
     {"Accept": "application/sparql-results+json"}),
    ({"query": "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o LIMIT 200", "format": "csv"}, {}),
    ({"query": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 5"}, {"Accept": "text/turtle"}),
    ({"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 300"}, {"Accept": "text/csv", "Accept-Encoding": "gzip"}),
    ({"query": "SELECT * WHERE { ?s ?p"}, {}),
    ({"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"}, {}),
    ({"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1"}, {"Accept": "image/png"}),
], ids=["json", "csv-by-format", "construct", "gzip", "malformed", "service", "not-acceptable"])
def test_a_plain_query_is_answered_as_the_full_stack_answers_it(client: TestClient, params: dict[str, str],
                                                                headers: dict[str, str]) -> None:
    """A plain GET skips the framework (api/fast_path.py); a request with an Origin header goes through every layer.
    Apart from the CORS headers, the two answers are the same: status, body, type, encoding and Vary."""
    fast = client.get("/sparql", params=params, headers=headers)
    full = client.get("/sparql", params=params, headers={**headers, "Origin": "https://app.example.org"})
    assert "access-control-allow-origin" in full.headers and "access-control-allow-origin" not in fast.headers
    assert (fast.status_code, fast.content) == (full.status_code, full.content)
    without_origin = [v for v in full.headers.get("vary", "").split(", ") if v and v != "Origin"]
    assert fast.headers.get("vary", "").split(", ") == (without_origin or [""]), "CORS adds only Origin to Vary"
    for name in ("content-type", "content-encoding"):
        assert fast.headers.get(name) == full.headers.get(name), name


def test_query_size_limit_holds_on_the_plain_get_too(api_store: KGStore) -> None:
    with TestClient(create_app(Settings(max_query_bytes=50), store=api_store)) as small:
        response = small.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } # a query over fifty bytes"})
    assert response.status_code == 413 and "longer than 50 bytes" in response.json()["detail"]


def test_a_deeply_nested_query_is_refused_as_bad_input_before_the_engine(client: TestClient) -> None:
    """20,000 nested groups (40 KB, under the size limit) used to crash a query worker and answer 503."""
    deep = "SELECT * WHERE " + "{" * 20_000 + "}" * 20_000
    refused = client.post("/sparql", content=deep, headers={"Content-Type": "application/sparql-query"})
    assert refused.status_code == 400 and "20000 levels" in refused.json()["detail"]
    assert "POEMS_KG_MAX_QUERY_DEPTH" in refused.json()["detail"]
    within = "SELECT * WHERE " + "{" * 150 + " ?s ?p ?o " + "}" * 150 + " LIMIT 1"
    assert client.post("/sparql", content=within, headers={"Content-Type": "application/sparql-query"}).status_code == 200


def test_a_deeply_nested_update_is_refused_too(write_client: TestClient) -> None:
    deep = "INSERT { ?s ?p ?o } WHERE " + "{" * 5_000 + " ?s ?p ?o " + "}" * 5_000
    refused = write_client.post("/sparql", content=deep, headers={"Authorization": "Bearer a-secret",
                                                                   "Content-Type": "application/sparql-update"})
    assert refused.status_code == 400 and "limit is 200" in refused.json()["detail"]


def test_queries_written_with_lateral_give_the_same_rows_without_it(kg_copy: Path) -> None:
    """The named and example queries look their OPTIONAL details up per row with LATERAL (fast on Oxigraph at 100,000
    claims); a server without it gets the SPARQL 1.1 form (kg.sparql_text.without_lateral), which must mean the same.
    Over the seed with a second source that disagrees with it, so that every query has rows."""
    from kg.named_queries import QUERIES
    from kg.queries import QUERY_DIR
    from kg.sparql_text import without_lateral

    add_second_opinion(kg_copy)
    store = OxigraphStore()
    store.load(build(kg_copy, DEFAULT_BASE_IRI).quads)
    poems = "<http://purl.obolibrary.org/obo/MONDO_0017364>"
    source = "<https://w3id.org/poems-kg/source/poems-cause-summary>"
    texts = {name: q for name, q in QUERIES.items() if "LATERAL" in q}
    texts |= {p.stem: p.read_text() for p in QUERY_DIR.glob("*.rq") if "LATERAL" in p.read_text()}
    assert {"claim-details", "claim-heads", "source-claims", "opposing-claims", "claim-statements"} <= set(texts)
    claim = "<" + str(next(iter(store.query("SELECT ?c WHERE { ?c <http://www.nanopub.org/nschema#hasAssertion> ?g } LIMIT 1")))[0].value) + ">"  # type: ignore[arg-type, index]
    target = str(next(iter(store.query(f"SELECT ?t WHERE {{ {claim} <http://www.nanopub.org/nschema#hasAssertion> ?g . "  # type: ignore[arg-type]
                                        "?g <http://www.w3.org/ns/prov#wasDerivedFrom> ?t }")))[0])  # type: ignore[index]
    for name, text in texts.items():
        text = text.replace("CLAIM", claim).replace("TARGET", target).replace("ENTITY", poems).replace("SUBJECT", poems).replace("OBJECT", poems).replace("SOURCE", source)
        plain = without_lateral(text)
        assert "LATERAL" not in plain.split("#")[0] and plain.count("{") == plain.count("}") == text.count("{") - text.count("LATERAL {")
        rows = sorted(map(str, store.query(text)))  # type: ignore[arg-type]
        assert rows and rows == sorted(map(str, store.query(plain))), name  # type: ignore[arg-type]
