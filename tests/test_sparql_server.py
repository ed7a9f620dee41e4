"""The SPARQL endpoint through a real uvicorn server, as standard clients use it.

A real server is needed here: the clients under test (SPARQLWrapper, rdflib's SPARQLStore) speak HTTP over
sockets, and stopping a runaway query must be shown on the process that serves it.
"""

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from rdflib import RDFS, Dataset, Graph, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, TSV, TURTLE, XML, SPARQLWrapper

from tests.conftest import running_server
from tests.test_sparql import EXPLOSIVE

POEMS = "http://purl.obolibrary.org/obo/MONDO_0017364"
NEGATED = f"""PREFIX biolink: <https://w3id.org/biolink/vocab/>
SELECT ?claim ?object WHERE {{ ?claim biolink:subject <{POEMS}> ; biolink:object ?object ; biolink:negated true }}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("server"), query_timeout_s="4") as url:
        yield url


def wrapper(server: str, query: str, fmt: str) -> SPARQLWrapper:
    client = SPARQLWrapper(server + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(fmt)
    return client


@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_select_in_every_format(server: str, fmt: str) -> None:
    result = wrapper(server, NEGATED, fmt).query()
    converted = result.convert()
    if fmt == JSON:
        objects = {b["object"]["value"] for b in converted["results"]["bindings"]}
        assert "http://purl.obolibrary.org/obo/MONDO_0021152" in objects
    elif fmt == XML:
        assert converted.getElementsByTagName("result")
    else:
        assert b"MONDO_0021152" in converted


def test_sparqlwrapper_construct_parses(server: str) -> None:
    query = "CONSTRUCT { ?c ?p ?o } WHERE { ?c a <https://w3id.org/biolink/vocab/Association> ; ?p ?o }"
    graph = wrapper(server, query, TURTLE).queryAndConvert()
    assert isinstance(graph, Graph | bytes)
    parsed = graph if isinstance(graph, Graph) else Graph().parse(data=graph, format="turtle")
    assert len(parsed) > 100


def test_rdflib_sparqlstore_needs_no_special_handling(server: str) -> None:
    remote = Dataset(store=SPARQLStore(server + "/sparql"), default_union=True)
    rows = list(remote.query(NEGATED))
    assert URIRef("http://purl.obolibrary.org/obo/MONDO_0021152") in {row.object for row in rows}
    assert remote.query("ASK { ?s ?p ?o }").askAnswer is True


@pytest.mark.parametrize(("accept", "rdflib_format"), [
    ("text/turtle", "turtle"), ("application/trig", "trig"), ("application/n-triples", "nt"),
    ("application/n-quads", "nquads"), ("application/ld+json", "json-ld"), ("application/rdf+xml", "xml"),
])
def test_every_graph_format_parses_over_http(server: str, accept: str, rdflib_format: str) -> None:
    query = f"DESCRIBE <{POEMS}>"
    response = httpx.get(server + "/sparql", params={"query": query}, headers={"Accept": accept})
    assert response.status_code == 200 and response.headers["content-type"].startswith(accept)
    parsed = Dataset().parse(data=response.content, format=rdflib_format)
    labels = {str(q[2]) for q in parsed.quads((URIRef(POEMS), RDFS.label, None, None))}
    assert labels == {"POEMS syndrome"}


@pytest.mark.parametrize(("request_kwargs", "status", "words"), [
    ({"params": {"query": "SELECT ?s WHERE { ?s ?p }"}}, 400, "malformed query"),
    ({"params": {"query": "ASK {}"}, "headers": {"Accept": "image/png"}}, 406, "cannot produce"),
    ({"params": {"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"}}, 400, "SERVICE"),
])
def test_errors_over_http(server: str, request_kwargs: dict, status: int, words: str) -> None:
    response = httpx.get(server + "/sparql", **request_kwargs)
    assert response.status_code == status
    assert words in response.json()["detail"]


def test_post_errors_over_http(server: str) -> None:
    wrong = httpx.post(server + "/sparql", content="ASK {}", headers={"Content-Type": "text/plain"})
    assert wrong.status_code == 415 and "unsupported content type" in wrong.json()["detail"]
    update = httpx.post(server + "/sparql", content="CLEAR ALL", headers={"Content-Type": "application/sparql-update"})
    assert update.status_code == 403 and "writes are not configured" in update.json()["detail"]


def test_runaway_query_is_stopped_while_server_keeps_serving(server: str) -> None:
    with ThreadPoolExecutor(1) as executor:
        started = time.monotonic()
        runaway = executor.submit(httpx.get, server + "/sparql", params={"query": EXPLOSIVE}, timeout=60)
        time.sleep(0.3)
        quick = httpx.get(server + "/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=10)
        assert quick.status_code == 200 and quick.json()["boolean"] is True
        stopped = runaway.result()
    assert stopped.status_code == 503 and "exceeded the time limit of 4 s" in stopped.json()["detail"]
    assert time.monotonic() - started < 20
    assert httpx.get(server + "/sparql", params={"query": "ASK { ?s ?p ?o }"}).status_code == 200


def test_query_page_served_to_browsers(server: str) -> None:
    page = httpx.get(server + "/sparql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Mechanism chain" in page.text


def test_large_result_arrives_whole(server: str) -> None:
    """A reply larger than the socket buffer between worker and server comes through complete."""
    response = httpx.get(server + "/sparql", params={"query": "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }"},
                         headers={"Accept": "application/sparql-results+json"}, timeout=60)
    assert response.status_code == 200 and len(response.content) > 500_000
    count = httpx.get(server + "/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"}).json()
    assert len(response.json()["results"]["bindings"]) == int(count["results"]["bindings"][0]["n"]["value"])
