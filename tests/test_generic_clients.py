"""Clients nobody here wrote read poems-kg as any linked-data source, with nothing supplied by the test.

pyld (the JSON-LD reference processor for Python) expands and converts every kind of JSON-LD answer, with a document
loader that refuses to fetch anything: the answer alone must be enough. Comunica (``tests/clients``, installed by
``make test`` from npm) queries the running server, as a SPARQL endpoint and as linked-data documents.
"""

import gzip
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyld import jsonld
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

from kg.settings import DEFAULT_BASE_IRI
from pipeline.build import Build
from tests.conftest import running_server

COMUNICA = Path(__file__).parent / "clients" / "node_modules" / ".bin" / "comunica-sparql"


def offline(url: str, options: dict[str, Any]) -> dict[str, Any]:
    raise AssertionError(f"the JSON-LD answer made the processor fetch {url}")


def triples_of_jsonld(document: Any) -> Graph:
    """What pyld reads in a JSON-LD document (every graph merged), with no network."""
    nquads = jsonld.to_rdf(document, {"format": "application/n-quads", "documentLoader": offline})
    assert jsonld.expand(document, {"documentLoader": offline}), "expands to something"
    merged = Graph()
    for s, p, o, _ in Dataset().parse(data=nquads, format="nquads").quads():
        merged.add((s, p, o))
    return merged


def triples_of(body: bytes, fmt: str) -> Graph:
    merged = Graph()
    for s, p, o, _ in Dataset().parse(data=body, format=fmt).quads():
        merged.add((s, p, o))
    return merged


def claim_path(seed: Build) -> str:
    return "/" + seed.iris["pcd-causes-poems"].removeprefix(DEFAULT_BASE_IRI)


@pytest.mark.parametrize("kind", ["entity", "minted entity", "claim", "source", "void"])
def test_every_json_ld_answer_gives_the_turtle_answers_triples_with_no_fetch(seed_client: TestClient, seed: Build,
                                                                           kind: str) -> None:
    path = {"entity": "/entity/MONDO:0017364", "minted entity": "/id/cytokine-overproduction", "claim": claim_path(seed),
            "source": "/source/poems-cause-summary", "void": "/void"}[kind]
    as_jsonld = seed_client.get(path, headers={"Accept": "application/ld+json"})
    as_turtle = seed_client.get(path, headers={"Accept": "application/trig" if kind == "claim" else "text/turtle"})
    assert as_jsonld.headers["content-type"].startswith("application/ld+json")
    from_jsonld = triples_of_jsonld(as_jsonld.json())
    expected = triples_of(as_turtle.content, "trig" if kind == "claim" else "turtle")
    assert len(expected) > 10 and isomorphic(from_jsonld, expected)


def test_the_json_ld_dump_gives_the_trig_dumps_triples_with_no_fetch(seed_client: TestClient) -> None:
    dump = json.loads(gzip.decompress(seed_client.get("/dumps/dataset.jsonld.gz").content))
    expected = triples_of(gzip.decompress(seed_client.get("/dumps/dataset.trig.gz").content), "trig")
    assert len(expected) > 1000 and isomorphic(triples_of_jsonld(dump), expected)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``poems-kg serve``: Comunica speaks HTTP to it like to any server on the web."""
    assert COMUNICA.exists(), "make test installs Comunica into tests/clients (npm ci)"
    with running_server(tmp_path_factory.mktemp("comunica"), reason_on_start="false") as url:
        yield url


def comunica(query: str, *sources: str) -> list[dict[str, Any]]:
    result = subprocess.run([str(COMUNICA), *sources, "-q", query, "-t", "application/sparql-results+json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    bindings: list[dict[str, Any]] = json.loads(result.stdout)["results"]["bindings"]
    return bindings


def test_comunica_queries_the_sparql_endpoint(server: str) -> None:
    rows = comunica("PREFIX biolink: <https://w3id.org/biolink/vocab/> SELECT ?label WHERE { "
                    "<http://purl.obolibrary.org/obo/MONDO_0017364> <http://www.w3.org/2000/01/rdf-schema#label> ?label }",
                    f"sparql@{server}/sparql")
    assert [r["label"]["value"] for r in rows] == ["POEMS syndrome"]


@pytest.mark.parametrize("ext", ["", ".jsonld"], ids=["negotiated", "json-ld"])
def test_comunica_joins_entity_claim_and_source_documents(server: str, seed: Build, ext: str) -> None:
    """The entity document says which claims are about POEMS syndrome, the claim document where its quote comes
    from, the source document the source's title: one query over the three documents, as fetched from the server
    (in the format Comunica negotiates, and as JSON-LD, whose inline context Comunica reads with no other request)."""
    claim = seed.iris["pcd-causes-poems"]
    query = """PREFIX np: <http://www.nanopub.org/nschema#> PREFIX prov: <http://www.w3.org/ns/prov#>
        PREFIX oa: <http://www.w3.org/ns/oa#> PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT ?claim ?exact ?title WHERE {
          ?claim np:hasAssertion ?g . ?g prov:wasDerivedFrom ?target .
          ?target oa:hasSource ?source ; oa:hasSelector ?sel . ?sel oa:exact ?exact . ?source dcterms:title ?title }"""
    rows = comunica(query, f"{server}/entity/MONDO:0017364{ext}", f"{server}{claim_path(seed)}{ext}",
                    f"{server}/source/poems-cause-summary{ext}")
    found = {(r["claim"]["value"], r["exact"]["value"], r["title"]["value"]) for r in rows}
    assert (claim, "caused by an underlying plasma cell dyscrasia", "What is the underlying cause of POEMS syndrome?") in found
