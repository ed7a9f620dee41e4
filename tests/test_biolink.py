"""Biolink citizenship in the RDF: every term a claim names has its Biolink category, every claim its most specific
association class and its knowledge sources, all from the one table ``ontology/biolink.yaml`` and the sources'
metadata."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg.store import OxigraphStore, select_rows
from pipeline.build import Build
from pipeline.cli import app
from tests.conftest import append_claims

BIOLINK = "https://w3id.org/biolink/vocab/"
INFORES = "https://w3id.org/biolink/infores/"
OBO = "http://purl.obolibrary.org/obo/"
CATEGORIES = """PREFIX biolink: <https://w3id.org/biolink/vocab/>
SELECT ?term ?category WHERE { GRAPH <https://w3id.org/poems-kg/graph/categories> { ?term biolink:category ?category } }"""


def categories(store: OxigraphStore) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for row in select_rows(store.query(CATEGORIES)):
        found.setdefault(row["term"], set()).add(row["category"])
    return found


def claim(seed: Build, key: str) -> object:
    return next(c for c in seed.claims if c.key == key)


def test_every_term_a_claim_names_has_exactly_one_category_in_the_graph(seed: Build, store: OxigraphStore) -> None:
    """A consumer of SPARQL or the dumps reads each term's category; none has two."""
    found = categories(store)
    named = {t for c in seed.claims for t in (c.subject, c.object) if t and not t.startswith(seed.ns.source)}
    assert named <= set(found), named - set(found)
    assert all(len(cats) == 1 for cats in found.values())


@pytest.mark.parametrize(("term", "category"), [
    (OBO + "MONDO_0017364", "Disease"),  # POEMS syndrome
    (OBO + "HP_0001271", "PhenotypicFeature"),  # Polyneuropathy, a phenotypic abnormality
    (OBO + "MONDO_0021152", "GeneticInheritance"),  # "inherited", the object of has_mode_of_inheritance
    (OBO + "MONDO_0021136", "Attribute"),  # "rare", a disease characteristic, not a disease
    (OBO + "ECTO_0000537", "ChemicalExposure"),  # exposure to toxin
    ("https://w3id.org/poems-kg/id/idiopathic-etiology", "Attribute"),
    ("https://w3id.org/poems-kg/id/chronic-immune-stimulation", "BiologicalProcess"),
])
def test_a_term_gets_the_category_of_its_rule(store: OxigraphStore, term: str, category: str) -> None:
    assert categories(store)[term] == {BIOLINK + category}


def test_frequency_terms_are_qualifiers_not_nodes(store: OxigraphStore) -> None:
    """HPO's frequency terms (under HP:0040279) qualify claims; they get no category."""
    assert OBO + "HP_0040280" not in categories(store)


@pytest.mark.parametrize(("key", "association"), [
    ("poems-not-inherited", "DiseaseOrPhenotypicFeatureToGeneticInheritanceAssociation"),
    ("vegf-excess-causes-vascular-leak", "PhenotypicFeatureToPhenotypicFeatureAssociation"),
    ("pcd-primary-risk-factor", "DiseaseToDiseaseAssociation"),
    ("pcd-causes-poems", "Association"),  # Biolink has no class for a disease causing a disease
    ("poems-is-rare", "Association"),  # has_attribute: not exchanged as an edge
    ("hpo-phenotype-annotations:line-248813", "DiseaseToPhenotypicFeatureAssociation"),
])
def test_each_claim_is_typed_with_its_most_specific_association_class(seed: Build, store: OxigraphStore, key: str,
                                                                     association: str) -> None:
    types = {r["t"] for r in select_rows(store.query(
        f"SELECT ?t WHERE {{ GRAPH <{seed.iris[key]}#assertion> {{ <{seed.iris[key]}#association> a ?t }} }}"))}
    assert types == {BIOLINK + "Association", BIOLINK + association}


def test_knowledge_sources_of_a_table_row_and_of_a_summary_claim(seed: Build, store: OxigraphStore) -> None:
    """An HPO row as Monarch states it: Orphanet curated it, HPO's annotations aggregate it; a summary claim's primary
    source is its publisher (minted: the Information Resource Registry has no entry for it)."""
    def sources(key: str) -> set[tuple[str, str]]:
        iri = seed.iris[key]
        return {(r["p"].removeprefix(BIOLINK), r["o"]) for r in select_rows(store.query(
            f"SELECT ?p ?o WHERE {{ GRAPH <{iri}#assertion> {{ <{iri}#association> ?p ?o }} "
            "FILTER(?p IN (<https://w3id.org/biolink/vocab/primary_knowledge_source>, "
            "<https://w3id.org/biolink/vocab/aggregator_knowledge_source>)) }"))}
    assert sources("hpo-phenotype-annotations:line-248813") == {("primary_knowledge_source", INFORES + "orphanet"),
                                                                ("aggregator_knowledge_source", INFORES + "hpo-annotations")}
    assert sources("pcd-causes-poems") == {("primary_knowledge_source", "https://w3id.org/poems-kg/id/infores-diseasemaps")}


def test_a_claim_naming_a_term_with_no_category_is_refused_with_file_and_line(kg_copy: Path) -> None:
    append_claims(kg_copy, """
  - key: evidence-as-object
    subject: MONDO:0017364
    predicate: biolink:associated_with
    object: ECO:0000303
    quote: "POEMS syndrome is a rare paraneoplastic disorder"
    note: Test claim naming an evidence code, which is no Biolink node.
""")
    line = (kg_copy / "claims/poems-cause-summary.yaml").read_text().splitlines().index("    object: ECO:0000303") + 1
    result = CliRunner().invoke(app, ["build", "--kg-dir", str(kg_copy), "--out", str(kg_copy / "out")])
    assert result.exit_code == 1
    assert (f"poems-cause-summary.yaml:{line}: object: ECO:0000303 has no Biolink category: add a rule for it"
            in " ".join(result.output.split()))


@pytest.mark.parametrize(("given", "words"), [
    ("knowledge_source: infores:Not A CURIE", "knowledge_source:"),
    ("knowledge_source: MONDO:0017364", "is not a knowledge source: give an infores CURIE"),
    ("knowledge_source: poems:no-such-publisher", "poems:no-such-publisher is not defined in ontology/poems-kg.ttl"),
])
def test_a_source_with_a_wrong_knowledge_source_is_refused_with_file_and_line(kg_copy: Path, given: str, words: str) -> None:
    meta = kg_copy / "sources/poems-cause-summary/metadata.yaml"
    text = meta.read_text().replace("knowledge_source: poems:infores-diseasemaps", given)
    meta.write_text(text)
    line = text.splitlines().index(given) + 1
    result = CliRunner().invoke(app, ["build", "--kg-dir", str(kg_copy), "--out", str(kg_copy / "out")])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert f"metadata.yaml:{line}:" in output and words in output, output


def test_a_table_without_a_primary_source_for_its_disease_prefix_is_refused(kg_copy: Path) -> None:
    meta = kg_copy / "sources/hpo-phenotype-annotations/metadata.yaml"
    meta.write_text(meta.read_text().replace("    ORPHA: infores:orphanet\n", "    OMIM: infores:omim\n"))
    result = CliRunner().invoke(app, ["build", "--kg-dir", str(kg_copy), "--out", str(kg_copy / "out")])
    assert result.exit_code == 1
    assert "knowledge_sources: no primary source for the disease prefix(es) ['ORPHA']" in " ".join(result.output.split())
