"""SHACL shapes: the seed conforms; for each shape, a claim edited to break exactly that shape is caught, with a message
that names the claim, where it was curated, and the problem."""

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode, Quad
from typer.testing import CliRunner

from kg.compile import curated_in
from kg.namespaces import BIOLINK, DCTERMS, NP, OA, RDFS, SPDX, XSD, Namespaces
from kg.settings import DEFAULT_BASE_IRI
from kg.store import OxigraphStore
from pipeline.build import Build
from pipeline.cli import app
from shapes.validate import (
    claim_context,
    joins_on_this,
    nanopublication_quads,
    per_focus_node,
    shapes_graph,
    validate_claims,
    validate_dataset,
)
from tests.conftest import append_claims

POEMS = "http://purl.obolibrary.org/obo/MONDO_0017364"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
Edit = Callable[[list[Quad], str, str], list[Quad]]  # (all quads, nanopublication IRI, entity namespace) -> edited quads


def replace_object(predicate: str, new: NamedNode | Literal, graph: str = "") -> Edit:
    """Replace the object of ``predicate`` within the claim's graphs (or within the sources graph)."""
    def edit(quads: list[Quad], np: str, ns: str) -> list[Quad]:
        def hit(q: Quad) -> bool:
            return q.predicate.value == predicate and str(q.graph_name.value).startswith(graph or np)
        return [Quad(q.subject, q.predicate, new, q.graph_name) if hit(q) else q for q in quads]
    return edit


def drop(predicate: str) -> Edit:
    def edit(quads: list[Quad], np: str, ns: str) -> list[Quad]:
        return [q for q in quads if not (q.predicate.value == predicate and str(q.graph_name.value).startswith(np))]
    return edit


def add_direct_triple(quads: list[Quad], np: str, ns: str) -> list[Quad]:
    """State the negated claim's triple as if it were a fact."""
    assertion = NamedNode(np + "#assertion")
    association = NamedNode(np + "#association")
    s, p, o = (next(q.object for q in quads if q.subject == association and q.predicate.value == BIOLINK + slot)
               for slot in ("subject", "predicate", "object"))
    return [*quads, Quad(s, p, o, assertion)]  # type: ignore[arg-type]


def drop_direct_triple(quads: list[Quad], np: str, ns: str) -> list[Quad]:
    association = NamedNode(np + "#association")
    return [q for q in quads if not (q.graph_name.value == np + "#assertion" and q.subject != association)]


def malformed_subject(quads: list[Quad], np: str, ns: str) -> list[Quad]:
    """MONDO_0017364 -> MONDO_17364 everywhere in the claim, with a label so that only the pattern is wrong."""
    bad = NamedNode("http://purl.obolibrary.org/obo/MONDO_17364")
    edited = [Quad(bad if q.subject.value == POEMS else q.subject, q.predicate, bad if q.object == NamedNode(POEMS) else q.object,
                   q.graph_name) if str(q.graph_name.value).startswith(np) else q for q in quads]
    return [*edited, Quad(bad, NamedNode(RDFS + "label"), Literal("malformed"), NamedNode(ns.replace("id/", "graph/ontology")))]


def retype(node: str, kind: str) -> Edit:
    """Give the claim's node ``#<node>`` the type ``kind`` instead of its own."""
    def edit(quads: list[Quad], np: str, ns: str) -> list[Quad]:
        return [Quad(q.subject, q.predicate, NamedNode(kind), q.graph_name)
                if q.subject.value == f"{np}#{node}" and q.predicate.value == RDF_TYPE else q for q in quads]
    return edit


def second_head(quads: list[Quad], np: str, ns: str) -> list[Quad]:
    """Declare the nanopublication again in its publication-info graph."""
    declaration = next(q for q in quads if q.graph_name.value == np + "#head" and q.predicate.value.endswith("type"))
    return [*quads, Quad(declaration.subject, declaration.predicate, declaration.object, NamedNode(np + "#pubinfo"))]


def head_elsewhere(quads: list[Quad], np: str, ns: str) -> list[Quad]:
    """Declare the nanopublication again in a graph of its own that is none of its four parts."""
    declaration = next(q for q in quads if q.graph_name.value == np + "#head" and q.predicate.value.endswith("type"))
    return [*quads, Quad(declaration.subject, declaration.predicate, declaration.object, NamedNode(np + "#head2"))]


def drop_line_selector(quads: list[Quad], np: str, ns: str) -> list[Quad]:
    """A table row's quote without the selector of its line."""
    return [q for q in quads if not (q.object == NamedNode(np + "#line") or q.subject == NamedNode(np + "#line"))]


def add_line_selector(quads: list[Quad], np: str, ns: str) -> list[Quad]:
    """A text quote also selected by a line, as if the text were a table."""
    target, provenance = NamedNode(np + "#quote"), NamedNode(np + "#provenance")
    line = NamedNode(np + "#line")
    return [*quads, Quad(target, NamedNode(OA + "hasSelector"), line, provenance),
            Quad(line, NamedNode(RDF_TYPE), NamedNode(OA + "FragmentSelector"), provenance),
            Quad(line, NamedNode(DCTERMS + "conformsTo"), NamedNode("http://tools.ietf.org/rfc/rfc5147"), provenance),
            Quad(line, NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#value"), Literal("line=1,2"), provenance)]


def extra_assertion(quads: list[Quad], np: str, ns: str) -> list[Quad]:
    """A statement in the assertion graph that is neither the association nor its direct triple."""
    return [*quads, Quad(NamedNode(POEMS), NamedNode(RDFS + "comment"), Literal("smuggled"), NamedNode(np + "#assertion"))]


def unlabelled_object(quads: list[Quad], np: str, ns: str) -> list[Quad]:
    old = next(q.object for q in quads if q.graph_name.value == np + "#assertion" and q.predicate.value == BIOLINK + "object")
    new = NamedNode(ns + "entity-with-no-label")
    return [Quad(q.subject, q.predicate, new if q.object == old else q.object, q.graph_name)
            if q.graph_name.value == np + "#assertion" else q for q in quads]


TABLE_ROW = "hpo-phenotype-annotations:line-248813"  # a row of HPO's annotations of POEMS syndrome
# (test id, claim key, edit, shape(s) that must report it, words the first message must hold)
CASES: list[tuple[str, str, Edit, str, str]] = [
    ("nanopublication", "pcd-causes-poems", drop(NP + "hasProvenance"), "NanopublicationStructureShape", "exactly one provenance graph"),
    ("nanopublication-head", "pcd-causes-poems", second_head, "NanopublicationHeadShape",
     "also declared in https://w3id.org/poems-kg/np/"),
    ("nanopublication-head-elsewhere", "pcd-causes-poems", head_elsewhere, "NanopublicationHeadShape",
     "must be declared in one head graph, distinct from its assertion, provenance and publication-info graphs: "
     "also declared in https://w3id.org/poems-kg/np/"),
    ("assertion-content", "pcd-causes-poems", extra_assertion, "AssertionGraphContentShape", "neither the association nor"),
    ("association", "pcd-causes-poems", replace_object(
        "https://w3id.org/poems-kg/id/certainty", NamedNode("https://w3id.org/poems-kg/id/certainty-maybe")),
     "AssociationShape", "certainty, when given, must be one of"),
    ("direction", "pcd-causes-poems", drop("https://w3id.org/poems-kg/id/direction"), "AssociationShape",
     "direction must be exactly one of"),
    ("knowledge-source", TABLE_ROW, drop(BIOLINK + "primary_knowledge_source"), "AssociationShape",
     "exactly one primary knowledge source"),
    ("absence-of-evidence-as-denial", "diet-no-evidence", replace_object(BIOLINK + "negated", Literal(True)),
     "DirectionImplicationsShape", "negated only when disputing"),
    ("hypothesis-as-assertion", "viral-trigger-hypothesis", replace_object(
        BIOLINK + "knowledge_level", NamedNode(BIOLINK + "knowledge_assertion")),
     "DirectionImplicationsShape", "prediction (hypothesis)"),
    ("insufficient-direct-triple", "diet-no-evidence", add_direct_triple, "UnsupportedClaimTripleShape",
     "a claim the source does not support states its triple"),
    ("provenance-evidence", "pcd-causes-poems", drop(BIOLINK + "has_evidence"), "AssertionProvenanceShape", "evidence type"),
    ("provenance-source", "pcd-causes-poems", replace_object(OA + "hasSource", NamedNode("https://w3id.org/poems-kg/source/unknown")),
     "QuoteTargetShape", "from exactly one known source document"),
    ("selector-kind", "pcd-causes-poems", retype("text-position", OA + "CssSelector"), "QuoteTargetShape",
     "a selector of none of those kinds: https://w3id.org/poems-kg/np/"),
    ("selector-twice", "pcd-causes-poems", retype("text-position", OA + "TextQuoteSelector"),
     "QuoteTargetShape+TextQuoteSelectorShape", "two selectors of kind http://www.w3.org/ns/oa#TextQuoteSelector"),
    ("row-without-line", TABLE_ROW, drop_line_selector, "RowLineShape", "a row of a table source has one"),
    ("text-quote-with-line", "pcd-causes-poems", add_line_selector, "RowLineShape", "a quote of a text source has no line"),
    ("quote", "pcd-causes-poems", replace_object(OA + "exact", Literal("a quote the source never wrote")),
     "TextQuoteSelectorShape", "not in the source text at the stated offsets"),
    ("identifier", "pcd-causes-poems", malformed_subject, "IdentifierPatternShape", "malformed identifier"),
    ("evidence-pattern", "pcd-causes-poems", replace_object(BIOLINK + "has_evidence", NamedNode("http://purl.obolibrary.org/obo/ECO_303")),
     "EvidencePatternShape", "ECO term with seven digits"),
    ("label", "pcd-causes-poems", unlabelled_object, "EntityLabelShape", "has no rdfs:label"),
    ("disputed-direct-triple", "poems-not-inherited", add_direct_triple, "UnsupportedClaimTripleShape",
     "a claim the source does not support states its triple"),
    ("missing-direct-triple", "pcd-causes-poems", drop_direct_triple, "AssertedClaimTripleShape", "must state its triple directly"),
    ("source-checksum", "pcd-causes-poems", replace_object(SPDX + "checksumValue", Literal("0" * 64, datatype=NamedNode(XSD + "hexBinary")),
                                                           graph="https://w3id.org/poems-kg/graph/sources"),
     "SourceDocumentShape", "sha256 of the source text is"),
    ("source-checksum-algorithm", "pcd-causes-poems", replace_object(SPDX + "algorithm", NamedNode(SPDX + "checksumAlgorithm_sha1"),
                                                                     graph="https://w3id.org/poems-kg/graph/sources"),
     "SourceDocumentShape+Sha256ChecksumShape", "checksum algorithm must be spdx:checksumAlgorithm_sha256"),
    ("source-date", "pcd-causes-poems", replace_object(DCTERMS + "modified", Literal("April 2026"), graph="https://w3id.org/poems-kg/graph/sources"),
     "SourceDocumentShape", "must be an xsd:date"),
    ("pubinfo", "pcd-causes-poems", replace_object(DCTERMS + "created", Literal("yesterday")), "PublicationInfoShape", "one creation time"),
]


def edited(seed: Build, key: str, edit: Edit) -> tuple[str, list[Quad]]:
    np = seed.iris[key]
    return np, edit(list(seed.quads), np, seed.ns.entity)


def test_seed_conforms_whole_and_per_claim(seed: Build, store: OxigraphStore) -> None:
    assert validate_dataset(seed.quads, seed.ns).conforms
    per_claim = validate_claims(nanopublication_quads(seed.quads, seed.ns), store, seed.ns)
    assert per_claim.conforms, [str(v) for v in per_claim.violations]


@pytest.mark.parametrize(("key", "edit", "shape", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_shape_catches_its_violation(seed: Build, key: str, edit: Edit, shape: str, words: str) -> None:
    np, quads = edited(seed, key, edit)
    context = OxigraphStore()
    context.load(quads)
    report = validate_claims({np: nanopublication_quads(quads, seed.ns)[np]}, context, seed.ns)
    assert report.violations, "the edit must be caught"
    # pyshacl as it comes, each SPARQL constraint and each property shape run per focus node, finds the same
    with per_focus_node():
        alone = validate_claims(nanopublication_quads(quads, seed.ns), context, seed.ns, batch=len(seed.claims))
    # validated in one batch with every other claim of the seed, the claim gets the same violations, and no other
    # claim gets any (an edited source is reported for each source the batch cites)
    in_batch = validate_claims(nanopublication_quads(quads, seed.ns), context, seed.ns, batch=len(seed.claims))
    assert [str(v) for v in in_batch.violations] == [str(v) for v in alone.violations]
    assert {str(v) for v in report.violations} <= {str(v) for v in in_batch.violations}
    assert {v.claim for v in in_batch.violations} <= {np, None}
    if not shape.startswith("SourceDocumentShape"):
        assert [str(v) for v in in_batch.violations] == [str(v) for v in report.violations]
    assert {v.shape.rsplit("/", 1)[1] for v in report.violations} == set(shape.split("+")), [str(v) for v in report.violations]
    violation = report.violations[0]
    assert words in violation.message
    text = str(violation)
    if not shape.startswith("SourceDocumentShape"):  # a source's own problem names the source, not a claim
        claim = next(c for c in seed.claims if c.key == key)
        assert f"claim '{key}'" in text and np in text
        assert f"{curated_in(claim, seed.sources[claim.source])}:{claim.line}:" in text


def test_whole_graph_and_per_claim_agree_on_a_violation(seed: Build) -> None:
    np, quads = edited(seed, "poems-not-inherited", add_direct_triple)
    whole = validate_dataset(quads, seed.ns)
    context = OxigraphStore()
    context.load(quads)
    per_claim = validate_claims(nanopublication_quads(quads, seed.ns), context, seed.ns)
    assert [str(v) for v in whole.violations] == [str(v) for v in per_claim.violations]
    assert [v.claim for v in whole.violations] == [np]


def test_an_undefined_term_is_refused_before_the_shapes_with_file_and_line(kg_copy: Path, tmp_path: Path) -> None:
    """A valid CURIE of the project's namespace that nothing defines: the curation check names it with file and line
    (the SHACL label shape, case "label" above, is the same gate for data that reaches the graph by other paths)."""
    append_claims(kg_copy, """
  - key: unlabelled-entity
    subject: MONDO:0017364
    predicate: biolink:associated_with
    object: poems:entity-nobody-defined
    quote: "POEMS syndrome is a rare paraneoplastic disorder"
    note: Test claim naming an entity that has no label.
""")
    line = (kg_copy / "claims/poems-cause-summary.yaml").read_text().splitlines().index("    object: poems:entity-nobody-defined") + 1
    out = tmp_path / "out"
    for command in (["build", "--out", str(out)], ["validate", "--whole-graph"]):
        result = CliRunner().invoke(app, [*command, "--kg-dir", str(kg_copy)])
        assert result.exit_code == 1 and not out.exists()
        assert f"poems-cause-summary.yaml:{line}: object: poems:entity-nobody-defined is not defined in ontology/poems-kg.ttl" \
            in result.output.replace("\n", "")


@pytest.mark.parametrize("fmt", ["turtle", "json-ld"])
def test_validate_cli_writes_a_shacl_report(fmt: str) -> None:
    result = CliRunner().invoke(app, ["validate", "--format", fmt])
    assert result.exit_code == 0
    from rdflib import Graph
    from rdflib.namespace import SH
    graph = Graph().parse(data=result.stdout, format=fmt)
    assert (None, SH.conforms, None) in graph


SECOND_ENGINE = Path(__file__).resolve().parent.parent / "shapes" / "engine-check"


def test_second_engine_agrees(seed: Build, store: OxigraphStore, tmp_path: Path) -> None:
    """shacl-engine (JavaScript, SHACL-SPARQL through Comunica) gives the same verdict as pyshacl, on every claim of
    the seed, on a broken quote and on absence of evidence written as a denial: the shapes use standard SHACL only. The
    test command installs it with npm. Claims are given with the context the gate validates them with
    (``claim_context``), the seed in two halves, and the runs go at once: the engine takes minutes over the seed."""
    from pyoxigraph import RdfFormat, serialize
    np, broken = edited(seed, "pcd-causes-poems", replace_object(OA + "exact", Literal("a quote the source never wrote")))
    denial, denied = edited(seed, "diet-no-evidence", replace_object(BIOLINK + "negated", Literal(True)))
    claims = list(nanopublication_quads(seed.quads, seed.ns).values())
    cases = []
    for half in (claims[::2], claims[1::2]):  # the seed in two batches, as the gate gives them, one per core
        quads = [q for claim in half for q in claim]
        cases.append(("seed", [*quads, *claim_context(store, quads, seed.ns)], True, ""))
    for name, iri, quads, focus in (("broken", np, broken, np + "#text-quote"), ("denial", denial, denied, denial + "#association")):
        context = OxigraphStore()
        context.load(quads)
        claim = nanopublication_quads(quads, seed.ns)[iri]
        cases.append((name, [*claim, *claim_context(context, claim, seed.ns)], False, focus))
    runs = []
    for name, quads, conforms, focus in cases:
        data = tmp_path / f"{name}-{len(runs)}.nq"
        serialize(quads, output=str(data), format=RdfFormat.N_QUADS)
        runs.append((subprocess.Popen(["node", str(SECOND_ENGINE / "validate.mjs"), str(data)], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True), conforms, focus))
    for run, conforms, focus in runs:
        stdout, stderr = run.communicate(timeout=600)
        assert run.returncode in (0, 1), stderr
        verdict = json.loads(stdout)
        assert verdict["conforms"] is conforms, verdict
        if not conforms:
            assert {r["focusNode"] for r in verdict["results"]} == {focus}


def test_a_sparql_constraint_with_a_forbidden_clause_is_refused_on_every_run() -> None:
    """The gate checks each constraint text once for the clauses SHACL forbids; a forbidden one stays refused."""
    from pyshacl import validate
    from rdflib import Graph

    shapes = Graph().parse(format="turtle", data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> .
        <urn:shape> a sh:NodeShape ; sh:targetNode <urn:s> ; sh:sparql [ a sh:SPARQLConstraint ; sh:message "never" ;
            sh:select "SELECT $this WHERE { SERVICE <http://example.org/sparql> { $this ?p ?o } }" ] .""")
    data = Graph().parse(format="turtle", data="<urn:s> <urn:p> <urn:o> .")
    validate_dataset([], Namespaces(DEFAULT_BASE_IRI))  # the gate's module is loaded, with its check
    for _ in range(2):
        conforms, _, text = validate(data, shacl_graph=shapes)
        assert not conforms and "must not contain a federated query (SERVICE)" in str(text)


def test_every_sparql_constraint_of_the_shapes_runs_once_for_all_its_focus_nodes() -> None:
    """The gate's speed rests on it: a constraint ``joins_on_this`` refuses is run per focus node, as pyshacl does."""
    from rdflib.namespace import SH
    shapes = shapes_graph(DEFAULT_BASE_IRI)
    header = "".join(f"PREFIX {shapes.value(d, SH.prefix)}: <{shapes.value(d, SH.namespace)}>\n"
                     for d in shapes.objects(None, SH.declare))
    texts = {str(shapes.value(constraint, SH.sparql) or constraint): str(text)
             for constraint, text in shapes.subject_objects(SH.select)}
    assert len(texts) == 15
    assert [name for name, text in texts.items() if not joins_on_this(header + text)] == []


EX = "PREFIX ex: <http://example.org/> "


@pytest.mark.parametrize(("query", "batched"), [
    ("SELECT $this ?v WHERE { $this ex:p ?v OPTIONAL { $this ex:q ?w } FILTER(!BOUND(?w)) }", True),
    ("SELECT $this WHERE { GRAPH ?g { $this ex:p ?v FILTER NOT EXISTS { ?v ex:q $this } } }", True),
    ("SELECT $this WHERE { $this ex:p ?v { ?v ex:q ?w FILTER(?w != $this) } }", False),  # a filter where $this is unbound
    ("SELECT $this WHERE { ?x ex:p ?y FILTER NOT EXISTS { $this ex:q ?y } }", False),
    ("SELECT $this WHERE { $this ex:p ?v OPTIONAL { ?v ex:q ?w OPTIONAL { ?w ex:r $this } } }", False),
    ("SELECT $this WHERE { { $this ex:p ?v } UNION { ?v ex:q ?w } }", False),  # a solution without $this
    ("SELECT ?v WHERE { $this ex:p ?v }", False),  # $this not selected
    ("SELECT $this WHERE { $this ex:p ?v } LIMIT 1", False),
    ("SELECT $this (COUNT(?v) AS ?n) WHERE { $this ex:p ?v } GROUP BY $this", False),
    ("SELECT $this WHERE { $this ex:p ?v MINUS { $this ex:q ?v } }", False),
    ("SELECT $this WHERE { $this ex:p ?v", False),  # not SPARQL
])
def test_a_constraint_is_run_once_only_where_that_answers_as_pre_binding(query: str, batched: bool) -> None:
    """Pre-binding puts the focus node wherever $this is written; one run joins on it, which is the same only where
    every use of $this sits where a solution binds it, and every solution does."""
    assert joins_on_this(EX + query) is batched
