"""Bulk import of an ontology file beside the claims, and queries that join claims with its class hierarchy."""

import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg.build import Build
from kg.bulk import BulkImportError, import_file
from kg.cli import app
from kg.store import KGStore, OxigraphStore, RemoteStore, select_rows
from tests.conftest import oxigraph_server_process

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


@pytest.mark.parametrize("graph_store", [False, True], ids=["insert-data", "graph-store-protocol"])
def test_import_into_an_oxigraph_server(tmp_path: Path, seed: Build, graph_store: bool) -> None:
    with oxigraph_server_process(tmp_path / "oxigraph") as url:
        remote: KGStore = RemoteStore(url + "/query", url + "/update", graph_store_url=url + "/store" if graph_store else None)
        remote.load(seed.quads)
        count = import_file(remote, ontology_file(tmp_path, 150_000), GRAPH)
        assert count > 300_000, "several batches"
        assert len(select_rows(remote.query(CLAIMS_UNDER_CLASS))) == poems_claims(seed)


def test_a_malformed_file_leaves_no_partial_graph(tmp_path: Path, seed: Build) -> None:
    store = seeded(seed)
    path = ontology_file(tmp_path, 250_000)
    path.write_bytes(path.read_bytes()[:-5_000])  # cut off: the parser fails after several batches were written
    before = len(store)
    with pytest.raises(BulkImportError, match="nothing was imported"):
        import_file(store, path, GRAPH)
    assert len(store) == before


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
