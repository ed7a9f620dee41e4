"""Identifiers grounded in their ontologies' own files: the committed import slice, its reproducibility, and the
build's refusal of an unknown, an obsolete or a mislabelled identifier, with file and line."""

import re
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from kg.model import CurationError
from kg.namespaces import Namespaces
from kg.settings import DEFAULT_BASE_IRI
from kg.terms import ONTOLOGY_DIR, index
from ontology.slice import FROM_SHARED_TABLES, IMPORTS_DIR, SHARED_TABLES, VOCABULARY_FILE, Biolink, names, refresh, term_list
from pipeline.build import Build, build
from pipeline.readers.crosswalk import mondo_mappings
from tests.conftest import KG_DIR, append_claims

CLAIMS = "claims/poems-cause-summary.yaml"
NEEDS_SHARED = pytest.mark.skipif(not (SHARED_TABLES / "terms.tsv.gz").exists(),
                                  reason=f"the shared ontology term tables are not at {SHARED_TABLES}")


def refused(kg_copy: Path, entry: str, field: str) -> CurationError:
    """Build with one more claim; the error, checked to name the claims file and the line of ``field``."""
    append_claims(kg_copy, entry)
    lines = (kg_copy / CLAIMS).read_text().splitlines()
    line = max(i for i, text in enumerate(lines) if text.startswith(f"    {field}:")) + 1
    with pytest.raises(CurationError) as caught:
        build(kg_copy, DEFAULT_BASE_IRI)
    assert (caught.value.file, caught.value.line) == (kg_copy / CLAIMS, line)
    return caught.value


def claim(obj: str, *extra: str) -> str:
    return ("\n  - key: fixture-identifier\n    subject: MONDO:0017364\n    predicate: biolink:has_mode_of_inheritance\n"
            f"    object: {obj}\n" + "".join(f"    {e}\n" for e in extra)
            + '    quote: "somatic"\n    note: Fixture claim for the identifier checks.\n')


def test_an_identifier_not_in_the_slice_is_refused(kg_copy: Path) -> None:
    error = refused(kg_copy, claim("MONDO:0005015"), "object")
    assert "MONDO:0005015 is not in the import slice" in error.message and "ontology/imports/mondo_terms.txt" in error.message


def test_an_obsolete_identifier_is_refused_with_its_replacement(kg_copy: Path) -> None:
    error = refused(kg_copy, claim("HP:0001428"), "object")
    assert "HP:0001428 is obsolete in its ontology ('obsolete Somatic mutation', ontology/imports/hp_import.ttl)" in error.message
    assert "use HP:0001442 (Typified by somatic mosaicism)" in error.message


def test_a_label_its_ontology_does_not_use_is_refused(kg_copy: Path) -> None:
    error = refused(kg_copy, claim("HP:0001442", 'object_label: "Somatic inheritance"'), "object_label")
    assert "'Somatic inheritance' is not a label of HP:0001442 in its ontology, which names it 'Typified by somatic mosaicism'" \
        in error.message


def test_an_exact_synonym_is_a_label_its_ontology_uses(kg_copy: Path) -> None:
    append_claims(kg_copy, claim("HP:0001442", 'object_label: "Somatic mutation"'))
    assert "fixture-identifier" in {c.key for c in build(kg_copy, DEFAULT_BASE_IRI).claims}


def test_a_mislabelled_mapping_row_is_refused(kg_copy: Path) -> None:
    path = kg_copy / "mappings" / "curated.sssom.tsv"
    lines = path.read_text().splitlines()
    row = next(i for i, text in enumerate(lines) if text.startswith("HGNC:12680\tVEGFA\t"))
    lines[row] = lines[row].replace("HGNC:12680\tVEGFA\t", "HGNC:12680\tVEGF-A\t")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CurationError) as caught:
        build(kg_copy, DEFAULT_BASE_IRI)
    assert (caught.value.file, caught.value.line) == (path, row + 1)
    assert "'VEGF-A' is not a label of HGNC:12680" in caught.value.message


def test_every_identifier_of_the_dataset_is_a_current_term_with_its_ontologys_label(seed: Build) -> None:
    terms = index(DEFAULT_BASE_IRI)
    named = {q.object.value for q in seed.quads if isinstance(q.object, NamedNode)
             and q.predicate.value.rsplit("/", 1)[-1] in ("subject", "predicate", "object", "has_evidence")}
    named -= {i for i in named if i.startswith(seed.ns.source) or i.startswith(seed.ns.claim)}
    assert named and all(i in terms and not terms[i].obsolete for i in named), sorted(i for i in named if i not in terms)
    labels = {q.subject.value: q.object.value for q in seed.quads
              if q.predicate.value == str(RDFS.label) and isinstance(q.object, Literal)}
    assert all(labels[i] == terms[i].label for i in named)


def test_every_minted_term_a_claim_names_says_why_and_links_out() -> None:
    """Each minted class a claim names gives the reason no standard term fits, and maps to a standard term when one
    is near (the etiology statuses have none)."""
    graph = Graph().parse(ONTOLOGY_DIR / "poems-kg.ttl")
    named = set(re.findall(r"poems:[a-z][a-z-]+", (KG_DIR / CLAIMS).read_text()))
    minted = {n for n in named if (URIRef(DEFAULT_BASE_IRI + "id/" + n[6:]), RDF.type, OWL.Class) in graph}
    assert minted == {"poems:cytokine-overproduction", "poems:organ-system-malfunction", "poems:chronic-immune-stimulation",
                      "poems:germline-mutation", "poems:lambda-restricted-plasma-cell-dyscrasia", "poems:idiopathic-etiology",
                      "poems:unknown-trigger"}
    matches = (SKOS.broadMatch, SKOS.narrowMatch, SKOS.closeMatch, SKOS.relatedMatch, SKOS.exactMatch, RDFS.subClassOf)
    for curie in minted:
        term = URIRef(DEFAULT_BASE_IRI + "id/" + curie[6:])
        assert "Minted" in str(graph.value(term, DCTERMS.source)), curie
        links = {str(o) for p in matches for o in graph.objects(term, p)}
        assert links or curie in ("poems:idiopathic-etiology", "poems:unknown-trigger"), curie


@pytest.mark.parametrize("name", ["hp", "biolink"])
def test_slices_read_from_pypi_packages_are_what_the_pinned_releases_give(name: str) -> None:
    assert refresh(None, only=[name])[name] == (IMPORTS_DIR / f"{name}_import.ttl").read_bytes()


def test_the_biolink_vocabulary_is_what_the_pinned_release_gives() -> None:
    assert Biolink().vocabulary() == VOCABULARY_FILE.read_bytes()


@NEEDS_SHARED
def test_slices_and_mondo_mappings_are_what_the_shared_tables_give() -> None:
    """Runs where the shared tables are (the development machines); a user's machine has only the committed slices."""
    generated = refresh(SHARED_TABLES, only=FROM_SHARED_TABLES)
    assert {n: (IMPORTS_DIR / f"{n}_import.ttl").read_bytes() for n in generated} == generated
    assert mondo_mappings(SHARED_TABLES, term_list("mondo")) == (KG_DIR / "mappings" / "mondo-exact.sssom.tsv").read_bytes()


def test_every_slice_has_a_term_list_and_every_listed_term_is_in_its_slice() -> None:
    assert set(names()) == {p.name.removesuffix("_import.ttl") for p in IMPORTS_DIR.glob("*_import.ttl")} - {"manual"}
    terms = index(DEFAULT_BASE_IRI)
    ns = Namespaces(DEFAULT_BASE_IRI)
    for name in names():
        assert all(ns.expand(c) in terms for c in term_list(name)), name
