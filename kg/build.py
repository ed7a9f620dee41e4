"""The build pipeline shared by the CLI and the API: curated files -> validated quads."""

from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import CanonicalizationAlgorithm, Dataset, DefaultGraph, NamedNode, Quad, RdfFormat, parse

from kg.compile import compile_dataset
from kg.curation import Claim, Source, load_all
from kg.namespaces import Namespaces
from kg.settings import DEFAULT_BASE_IRI
from ontology import ONTOLOGY_FILES


@dataclass
class Build:
    """The result of compiling the curated files."""

    ns: Namespaces
    sources: dict[str, Source]
    claims: list[Claim]
    quads: list[Quad]


def rebase(text: str, ns: Namespaces) -> str:
    """Rewrite the default base IRI in a Turtle text to the configured one."""
    return text if ns.base == DEFAULT_BASE_IRI else text.replace(DEFAULT_BASE_IRI, ns.base)


def ontology_quads(ns: Namespaces) -> list[Quad]:
    """The ontology and its import slice, in the ontology named graph, blank nodes canonically named."""
    graph = NamedNode(ns.graph + "ontology")
    quads = Dataset()
    for path in ONTOLOGY_FILES:
        for quad in parse(rebase(path.read_text(encoding="utf-8"), ns).encode(), format=RdfFormat.TURTLE):
            assert isinstance(quad.graph_name, DefaultGraph)
            quads.add(Quad(quad.subject, quad.predicate, quad.object, graph))
    quads.canonicalize(CanonicalizationAlgorithm.UNSTABLE)
    return list(quads)


def build(kg_dir: Path, base_iri: str) -> Build:
    """Load and compile everything under ``kg_dir``; raises ``CurationError`` on bad input."""
    ns = Namespaces(base_iri)
    sources, claims = load_all(kg_dir, ns)
    return Build(ns, sources, claims, compile_dataset(sources, claims, ns, ontology_quads(ns)))
