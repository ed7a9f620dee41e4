"""The build pipeline shared by the CLI and the API: curated files -> validated quads."""

from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import CanonicalizationAlgorithm, Dataset, DefaultGraph, NamedNode, Quad, RdfFormat, parse

from kg.compile import compile_dataset
from kg.crosswalk import load_mappings, mapping_quads
from kg.curation import Claim, Source, load_all
from kg.namespaces import Namespaces
from kg.store import OxigraphStore
from ontology import ONTOLOGY_FILES
from shapes.validate import ValidationError, nanopublication_quads, validate_claims


@dataclass
class Build:
    """The result of compiling the curated files."""

    ns: Namespaces
    sources: dict[str, Source]
    claims: list[Claim]
    quads: list[Quad]


def ontology_quads(ns: Namespaces) -> list[Quad]:
    """The ontology and its import slice, in the ontology named graph, blank nodes canonically named."""
    graph = NamedNode(ns.graph + "ontology")
    quads = Dataset()
    for path in ONTOLOGY_FILES:
        for quad in parse(ns.rebase(path.read_text(encoding="utf-8")).encode(), format=RdfFormat.TURTLE):
            assert isinstance(quad.graph_name, DefaultGraph)
            quads.add(Quad(quad.subject, quad.predicate, quad.object, graph))
    quads.canonicalize(CanonicalizationAlgorithm.UNSTABLE)
    return list(quads)


def build(kg_dir: Path, base_iri: str, *, validate: bool = True) -> Build:
    """Load, compile and (unless told not to) validate everything under ``kg_dir``.

    Raises ``CurationError`` on bad curated input and ``ValidationError`` when the compiled graph violates a shape.
    """
    ns = Namespaces(base_iri)
    sources, claims = load_all(kg_dir, ns)
    static = [*ontology_quads(ns), *mapping_quads(load_mappings(kg_dir, ns), ns)]
    result = Build(ns, sources, claims, compile_dataset(sources, claims, ns, static))
    if validate:
        store = OxigraphStore()
        store.load(result.quads)
        report = validate_claims(nanopublication_quads(result.quads, ns), store, ns)
        if not report.conforms:
            raise ValidationError(report)
    return result
