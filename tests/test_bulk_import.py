"""Bulk import of an ontology file beside the claims, and queries that join claims with its class hierarchy."""

import copy
import gzip
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef
from typer.testing import CliRunner

from api.app import create_app
from kg.settings import Settings
from kg.store import KGStore, OxigraphStore, RemoteStore, select_rows
from pipeline import bulk
from pipeline.build import Build
from pipeline.bulk import BulkImportError, import_file
from pipeline.cli import app
from tests.conftest import contents

GRAPH = "https://w3id.org/poems-kg/graph/import/test-ontology"
NEOPLASM = "http://example.org/onto/C_plasma_cell_neoplasm"
# Every claim about any subclass (at any depth) of the generated "plasma cell neoplasm" class.
CLAIMS_UNDER_CLASS = f"""
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX biolink: <https://w3id.org/biolink/vocab/>
PREFIX np: <http://www.nanopub.org/nschema#>
SELECT DISTINCT ?claim WHERE {{
  GRAPH <{GRAPH}> {{ ?class rdfs:subClassOf+ <{NEOPLASM}> }}
  ?claim np:hasAssertion ?g . GRAPH ?g {{ ?a biolink:subject|biolink:object ?class }}
}}"""


def ontology_file(folder: Path, n_classes: int, gz: bool = False) -> Path:
    """An OWL (RDF/XML) file shaped like MONDO: labelled classes in a subclass tree, POEMS syndrome two levels down."""
    lines = ['<?xml version="1.0"?>', '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
             'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#" xmlns:owl="http://www.w3.org/2002/07/owl#">',
             f'<owl:Class rdf:about="{NEOPLASM}"><rdfs:label>plasma cell neoplasm</rdfs:label></owl:Class>',
             f'<owl:Class rdf:about="http://example.org/onto/C_middle"><rdfs:subClassOf rdf:resource="{NEOPLASM}"/></owl:Class>',
             '<owl:Class rdf:about="http://purl.obolibrary.org/obo/MONDO_0017364">'
             '<rdfs:subClassOf rdf:resource="http://example.org/onto/C_middle"/></owl:Class>']
    lines += [f'<owl:Class rdf:about="http://example.org/onto/C{i}"><rdfs:label>class {i}</rdfs:label>'
              f'<rdfs:subClassOf rdf:resource="http://example.org/onto/C{i // 2}"/></owl:Class>' for i in range(1, n_classes)]
    text = "\n".join([*lines, "</rdf:RDF>"]).encode()
    path = folder / ("test-ontology.owl.gz" if gz else "test-ontology.owl")
    path.write_bytes(gzip.compress(text) if gz else text)
    return path


def poems_claims(seed: Build) -> int:
    poems = "http://purl.obolibrary.org/obo/MONDO_0017364"
    return sum(1 for c in seed.claims if poems in (c.subject, c.object))


def seeded(seed: Build) -> OxigraphStore:
    store = OxigraphStore()
    store.load(seed.quads)
    return store


@pytest.mark.parametrize("gz", [False, True])
def test_import_then_join_claims_with_the_hierarchy(tmp_path: Path, seed: Build, gz: bool) -> None:
    store = seeded(seed)
    path = ontology_file(tmp_path, 300_000 // 3, gz)
    seen: list[int] = []
    count = import_file(store, path, GRAPH, seen.append)
    assert count >= 200_000 and seen == sorted(seen) and seen[-1] == path.stat().st_size
    assert len(select_rows(store.query(CLAIMS_UNDER_CLASS))) == poems_claims(seed)


def test_an_imported_ontology_is_queryable_but_not_republished(tmp_path: Path, seed: Build) -> None:
    """Dumps and VoID describe poems-kg's own graphs: an imported ontology has its own license and publisher."""
    store = seeded(seed)
    own = len(store)
    import_file(store, ontology_file(tmp_path, 1000), GRAPH)
    with TestClient(create_app(Settings(reason_on_start=False), store=store)) as client:
        answer = client.get("/sparql", params={"query": CLAIMS_UNDER_CLASS}, headers={"Accept": "application/sparql-results+json"})
        assert len(answer.json()["results"]["bindings"]) == poems_claims(seed)
        dump = gzip.decompress(client.get("/dumps/dataset.nq.gz").content).decode()
        void = Graph().parse(data=client.get("/void", headers={"Accept": "text/turtle"}).text, format="turtle")
    assert GRAPH not in dump and dump.count("\n") == own
    assert int(void.value(URIRef("https://w3id.org/poems-kg/void#dataset"), URIRef("http://rdfs.org/ns/void#triples"))) == own


def test_import_on_every_backend(tmp_path: Path, seed: Build, writable_store: KGStore) -> None:
    """The embedded bulk loader; the Graph Store Protocol on each server."""
    count = import_file(writable_store, ontology_file(tmp_path, 150_000), GRAPH)
    assert count > 300_000, "several batches"
    assert len(select_rows(writable_store.query(CLAIMS_UNDER_CLASS))) == poems_claims(seed)


def test_import_into_a_server_without_graph_store_endpoint(tmp_path: Path, seed: Build, server_store: RemoteStore) -> None:
    """``INSERT DATA`` batches instead (on Virtuoso in requests under its 10 MB limit)."""
    remote = copy.copy(server_store)
    remote.graph_store_url = None
    count = import_file(remote, ontology_file(tmp_path, 150_000), GRAPH)
    assert count > 300_000, "several batches"
    assert len(select_rows(remote.query(CLAIMS_UNDER_CLASS))) == poems_claims(seed)


def test_a_malformed_file_leaves_no_partial_graph(tmp_path: Path, writable_store: KGStore,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded bulk loader commits as it goes; a server gets batches (smaller here: a server clears slowly)."""
    embedded = isinstance(writable_store, OxigraphStore)
    monkeypatch.setattr(bulk, "BATCH", bulk.BATCH if embedded else 10_000)
    path = ontology_file(tmp_path, 250_000 if embedded else 25_000)
    path.write_bytes(path.read_bytes()[:-5_000])  # cut off: the parser fails after several batches were written
    before = contents(writable_store)
    with pytest.raises(BulkImportError, match="nothing was imported"):
        import_file(writable_store, path, GRAPH)
    assert contents(writable_store) == before


def test_cli_import_with_progress_and_refusal_of_a_full_graph(tmp_path: Path) -> None:
    runner = CliRunner()
    path = ontology_file(tmp_path, 1000)
    store = tmp_path / "store"
    first = runner.invoke(app, ["import", str(path), "--store", str(store), "--graph", GRAPH])
    assert first.exit_code == 0 and "imported" in first.output
    again = runner.invoke(app, ["import", str(path), "--store", str(store), "--graph", GRAPH])
    assert again.exit_code == 1 and "already holds data" in again.output
    unknown = tmp_path / "data.xyz"
    unknown.write_text("x")
    assert "unknown RDF format" in runner.invoke(app, ["import", str(unknown), "--store", str(store)]).output
