"""The OWL ontology and HermiT reasoning over the knowledge graph."""

import tempfile
from pathlib import Path

import owlready2
import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from kg.compile import compile_dataset
from kg.namespaces import Namespaces
from kg.settings import DEFAULT_BASE_IRI
from kg.store import OxigraphStore, select_rows
from kg.terms import ONTOLOGY_FILES
from ontology.reason import ReasoningError, Report, constrained_properties, reason, reasoning_input
from pipeline.build import Build, ontology_quads
from pipeline.readers.folder import load_all
from tests.conftest import append_claims

BASE = DEFAULT_BASE_IRI
POEMS = "http://purl.obolibrary.org/obo/MONDO_0017364"
ONTOLOGY_IRI = BASE + "ontology"


@pytest.fixture(scope="module")
def seed_report(seed: Build) -> Report:
    return reason(seed.quads, seed.ns)


def test_seed_is_consistent(seed_report: Report) -> None:
    assert seed_report.consistent, seed_report.explanation


def test_inferred_graph_is_separate_and_marked(seed_report: Report) -> None:
    graphs = {q.graph_name.value for q in seed_report.inferred}
    assert graphs == {BASE + "graph/inferred"}
    assert any(q.predicate.value.endswith("knowledge_level") and q.object.value.endswith("logical_entailment")
               for q in seed_report.inferred)


def test_hierarchy_places_poems_under_its_parents(seed_report: Report) -> None:
    parents = {q.object.value for q in seed_report.inferred if q.subject.value == POEMS and q.predicate.value == str(RDFS.subClassOf)}
    mondo = "http://purl.obolibrary.org/obo/MONDO_"
    assert {mondo + "0021073", mondo + "0018215", mondo + "0000001", BASE + "id/SomaticCondition"} <= parents


def test_a_hierarchy_query_over_mondo_parents_answers_from_the_slice(store: OxigraphStore) -> None:
    """Every claim about any subclass of paraneoplastic neurologic syndrome (MONDO:0018215): POEMS syndrome is one
    only through MONDO's own edge, which no claim states, in the committed slice; no reasoning needed."""
    rows = select_rows(store.query("""
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX biolink: <https://w3id.org/biolink/vocab/>
        SELECT DISTINCT ?disease (COUNT(DISTINCT ?a) AS ?claims) WHERE {
          ?disease rdfs:subClassOf+ <http://purl.obolibrary.org/obo/MONDO_0018215> .
          ?a biolink:subject|biolink:object ?disease } GROUP BY ?disease"""))
    assert [r["disease"] for r in rows] == [POEMS] and int(rows[0]["claims"]) > 20


def test_ro_phrased_query_finds_biolink_edges_once_inferred_graph_is_loaded(seed: Build, seed_report: Report) -> None:
    query = """SELECT ?gene ?process WHERE { ?gene <http://purl.obolibrary.org/obo/RO_0002331> ?process }"""
    store = OxigraphStore()
    store.load(seed.quads)
    assert select_rows(store.query(query)) == []
    store.load(seed_report.inferred)
    assert select_rows(store.query(query)) == [{"gene": "http://identifiers.org/hgnc/12680",
                                                "process": "http://purl.obolibrary.org/obo/GO_0001525"}]


def test_every_assertion_of_an_unconstrained_property_gets_what_hermit_infers_for_its_stand_in(seed: Build) -> None:
    """HermiT sees one stand-in assertion per property the ontology does not constrain; what it infers from it (here
    the RO name of an equivalent property) is given to each assertion of that property, not only to the first."""
    from pyoxigraph import NamedNode, Quad
    involved, ro = "https://w3id.org/biolink/vocab/actively_involved_in", "http://purl.obolibrary.org/obo/RO_0002331"
    pairs = [("http://identifiers.org/hgnc/12680", "http://purl.obolibrary.org/obo/GO_0001525"),
             ("http://identifiers.org/hgnc/1", "http://purl.obolibrary.org/obo/GO_1"),
             ("http://identifiers.org/hgnc/2", "http://purl.obolibrary.org/obo/GO_2")]
    quads = [Quad(NamedNode(s), NamedNode(involved), NamedNode(o), NamedNode(f"{seed.ns.claim}RA{i}#assertion"))
             for i, (s, o) in enumerate(pairs)]
    given = reasoning_input({(s, involved, o): {"claim"} for s, o in pairs}, seed.ns)
    assert list(given.stand_ins) == [involved] and len(given.by_stand_in[involved]) == 3
    report = reason(quads, seed.ns)
    assert report.consistent
    assert {(q.subject.value, q.object.value) for q in report.inferred if q.predicate.value == ro} == set(pairs)


def test_an_entity_of_an_empty_class_is_inconsistent_though_it_has_no_individual(seed: Build) -> None:
    """An entity named only by unconstrained properties is given to HermiT as a class, not an individual; that its class
    can have no member (a subclass of two disjoint classes) is still the inconsistency, and names the claims."""
    from pyoxigraph import NamedNode, Quad
    entity, claim = seed.ns.entity + "both-inherited-and-not", seed.ns.claim + "RAx"
    subclass, phenotype = "https://w3id.org/biolink/vocab/subclass_of", "https://w3id.org/biolink/vocab/has_phenotype"
    axioms = [(entity, subclass, seed.ns.entity + "InheritedCondition"),
              (entity, subclass, seed.ns.entity + "NotInheritedCondition")]
    quads = [Quad(*(NamedNode(t) for t in triple), NamedNode(f"{claim}{i}#assertion"))  # type: ignore[misc]
             for i, triple in enumerate(axioms)]
    assert reason(quads, seed.ns).consistent  # an empty class no claim names as an entity is no contradiction
    named = Quad(NamedNode(entity), NamedNode(phenotype), NamedNode("http://purl.obolibrary.org/obo/HP_0001271"),
                 NamedNode(f"{claim}9#assertion"))
    assert entity in reasoning_input({(entity, phenotype, named.object.value): {claim}}, seed.ns).classes_only
    report = reason([*quads, named], seed.ns)
    assert not report.consistent and entity in report.explanation
    assert report.offending_claims == [f"{claim}{i}" for i in (0, 1, 9)]


def test_the_offending_claims_are_found_in_a_few_hermit_runs_not_one_per_subject(seed: Build,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """One inconsistent subject among sixteen: its claims, and only its, are named after 8 HermiT runs (halving the
    inconsistent groups), not 16; on the whole file a run takes about 28 s."""
    from pyoxigraph import NamedNode, Quad

    from ontology import reason as reasoning
    entity, claim = seed.ns.entity + "both-inherited-and-not", seed.ns.claim + "RAx"
    subclass, phenotype = "https://w3id.org/biolink/vocab/subclass_of", "https://w3id.org/biolink/vocab/has_phenotype"
    triples = [(entity, subclass, seed.ns.entity + "InheritedCondition"),
               (entity, subclass, seed.ns.entity + "NotInheritedCondition"),
               (entity, phenotype, "http://purl.obolibrary.org/obo/HP_0001271"),
               *((f"{seed.ns.entity}harmless-{i}", phenotype, "http://purl.obolibrary.org/obo/HP_0001271") for i in range(15))]
    quads = [Quad(*(NamedNode(t) for t in triple), NamedNode(f"{claim}{i}#assertion"))  # type: ignore[misc]
             for i, triple in enumerate(triples)]
    runs: list[reasoning.Input] = []
    hermit = reasoning._consistent

    def counted(given: reasoning.Input) -> tuple[bool, str]:
        runs.append(given)
        return hermit(given)

    monkeypatch.setattr(reasoning, "_consistent", counted)
    report = reason(quads, seed.ns)
    assert not report.consistent and report.offending_claims == [f"{claim}{i}" for i in (0, 1, 2)]
    assert len(runs) == 8


def test_a_property_is_constrained_by_any_axiom_on_it_or_on_a_property_above_it() -> None:
    """Restricted, ranged or characterised properties and their sub-properties are reasoned over assertion by
    assertion; a property the ontology only places in its hierarchy is not."""
    graph = Graph()
    for path in ONTOLOGY_FILES:
        graph.parse(path, format="turtle")
    packaged = constrained_properties(graph)
    biolink = "https://w3id.org/biolink/vocab/"
    assert biolink + "has_mode_of_inheritance" in packaged  # restrictions of the inheritance classes
    assert not {biolink + p for p in ("has_phenotype", "causes", "related_to")} & packaged
    small = Graph().parse(format="turtle", data="""
        @prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        <urn:restricted> a owl:ObjectProperty . <urn:C> owl:equivalentClass [ owl:onProperty <urn:restricted> ;
            owl:someValuesFrom <urn:D> ] .
        <urn:below> rdfs:subPropertyOf <urn:restricted> . <urn:same> owl:equivalentProperty <urn:below> .
        <urn:ranged> rdfs:range <urn:D> . <urn:functional> a owl:FunctionalProperty .
        <urn:free> a owl:ObjectProperty ; rdfs:subPropertyOf <urn:top> ; rdfs:label "free" .""")
    assert {"urn:restricted", "urn:below", "urn:same", "urn:ranged", "urn:functional"} <= constrained_properties(small)
    assert not {"urn:free", "urn:top"} & constrained_properties(small)


def test_somatic_and_germline_origin_is_inconsistent_and_names_the_claims(kg_copy: Path) -> None:
    append_claims(kg_copy, """
  - key: fixture-poems-germline
    subject: MONDO:0017364
    predicate: biolink:has_mode_of_inheritance
    object: MONDO:0021152
    quote: "POEMS syndrome is not an inherited disease"
    note: Deliberately wrong fixture claim (drops the negation).
""")
    # compiled without the build's checks, which refuse this file first (the source would contradict itself)
    ns = Namespaces(BASE)
    sources, claims = load_all(kg_copy, ns)
    compiled = compile_dataset(sources, claims, ns, ontology_quads(ns))
    report = reason(compiled.quads, ns)
    assert not report.consistent
    assert "inconsistent" in report.explanation.lower()
    iris = compiled.iris
    assert iris["fixture-poems-germline"] in report.offending_claims
    assert iris["poems-somatic-abnormalities"] in report.offending_claims
    assert iris["pcd-causes-poems"] not in report.offending_claims


def test_directions_reuse_sepio_and_the_minted_one_is_mapped_to_it() -> None:
    """Supporting, disputing and inconclusive are SEPIO's own individuals; only the hypothesis stance is minted."""
    graph = Graph()
    for path in ONTOLOGY_FILES:
        graph.parse(path, format="turtle")
    sepio = "http://purl.obolibrary.org/obo/SEPIO_"
    labels = {n: str(graph.value(URIRef(sepio + n), RDFS.label)) for n in ("0000403", "0000404", "0000405")}
    assert labels == {"0000403": "supporting", "0000404": "disputing", "0000405": "inconclusive"}
    minted = URIRef(BASE + "id/hypothesis-under-investigation")
    assert (minted, SKOS.broadMatch, URIRef(sepio + "0000405")) in graph
    assert (minted, SKOS.relatedMatch, URIRef(sepio + "0000432")) in graph
    assert (URIRef(BASE + "id/direction"), SKOS.closeMatch, URIRef(sepio + "0000183")) in graph
    certainties = set(graph.subjects(RDF.type, URIRef(BASE + "id/Certainty")))
    assert certainties == {URIRef(BASE + "id/certainty-established"), URIRef(BASE + "id/certainty-consensus")}


def test_missing_java_is_a_clear_error(seed: Build, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ontology.reason.shutil.which", lambda _: None)
    with pytest.raises(ReasoningError, match="needs Java"):
        reason(seed.quads, seed.ns)


def test_ontology_parses_and_every_defined_term_has_label_and_definition() -> None:
    graph = Graph()
    for path in ONTOLOGY_FILES:
        graph.parse(path, format="turtle")
    defined = set(graph.subjects(RDFS.isDefinedBy, URIRef(ONTOLOGY_IRI)))
    kinds = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.NamedIndividual}
    declared = {s for k in kinds for s in graph.subjects(RDF.type, k) if str(s).startswith(BASE)}
    assert declared <= defined
    for term in defined:
        assert graph.value(term, RDFS.label), term
        assert graph.value(term, SKOS.definition), term
    assert (URIRef(ONTOLOGY_IRI), OWL.versionIRI, None) in graph
    assert not list(graph.objects(None, OWL.imports))
    world = owlready2.World()
    xml = Path(tempfile.mkdtemp()) / "ontology.owl"
    graph.serialize(xml, format="xml")
    onto = world.get_ontology(xml.as_uri()).load()
    assert world[BASE + "id/cytokine-overproduction"] is not None and onto is not None
