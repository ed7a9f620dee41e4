"""poems-kg on an existing SPARQL server: configured by settings alone, it fills an empty server and serves from it."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from rdflib import RDFS, Graph, Literal, URIRef

from kg.store import RemoteStore
from tests.conftest import free_port, oxigraph_server_process, running_server, virtuoso_server_process


def test_serve_on_an_oxigraph_server(tmp_path: Path) -> None:
    with oxigraph_server_process(tmp_path / "oxigraph") as oxigraph, \
            running_server(tmp_path, sparql_endpoint=oxigraph + "/query", sparql_update_endpoint=oxigraph + "/update",
                           reason_on_start="false") as url:
        held = len(RemoteStore(oxigraph + "/query"))
        assert held > 1500, "the empty server was filled with the built KG"
        count = httpx.get(url + "/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}).json()
        assert int(count["results"]["bindings"][0]["n"]["value"]) == held
        graph = Graph().parse(url + "/entity/MONDO:0017364")
        assert (URIRef("http://purl.obolibrary.org/obo/MONDO_0017364"), RDFS.label, Literal("POEMS syndrome", lang="en")) in graph
        bad = httpx.get(url + "/sparql", params={"query": "SELECT ?s WHERE { ?s ?p }"})
        assert bad.status_code == 400 and "malformed query" in bad.json()["detail"]


def serve_once(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """``poems-kg serve`` with the given POEMS_KG_* settings, when it is expected to refuse to start."""
    env = os.environ | {f"POEMS_KG_{k.upper()}": v for k, v in settings.items()}
    return subprocess.run([str(Path(sys.executable).parent / "poems-kg"), "serve", "--port", "9"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)


def test_serve_refuses_a_server_whose_default_graph_is_not_the_union(tmp_path: Path) -> None:
    with oxigraph_server_process(tmp_path / "oxigraph", union_default_graph=False) as oxigraph:
        result = serve_once(tmp_path, sparql_endpoint=oxigraph + "/query", sparql_update_endpoint=oxigraph + "/update",
                            reason_on_start="false")
    message = " ".join(result.stderr.split())  # the console wraps long lines
    assert result.returncode == 1, message
    assert "does not read its default graph as the union of its named graphs" in message
    assert "--union-default-graph" in message and "Traceback" not in message


def test_serve_names_a_server_it_cannot_reach(tmp_path: Path) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}/query"
    result = serve_once(tmp_path, sparql_endpoint=unreachable, reason_on_start="false")
    message = " ".join(result.stderr.split())
    assert result.returncode == 1 and unreachable in message and "Traceback" not in message


@pytest.mark.skipif(not os.environ.get("POEMS_KG_TEST_VIRTUOSO"), reason="optional target: make test-virtuoso")
def test_serve_on_virtuoso(tmp_path: Path) -> None:
    with virtuoso_server_process(tmp_path / "virtuoso") as virtuoso, \
            running_server(tmp_path, sparql_endpoint=virtuoso, sparql_dialect="virtuoso", reason_on_start="false") as url:
        held = len(RemoteStore(virtuoso, dialect="virtuoso"))
        assert held > 1500, "the empty server was filled with the built KG"
        graph = Graph().parse(url + "/entity/MONDO:0017364")
        assert (URIRef("http://purl.obolibrary.org/obo/MONDO_0017364"), RDFS.label, Literal("POEMS syndrome", lang="en")) in graph
        ask = httpx.get(url + "/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers={"Accept": "application/sparql-results+json"})
        assert ask.json()["boolean"] is True
