"""The build pipeline shared by the CLI and the API: curated files -> validated quads."""

from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import CanonicalizationAlgorithm, Dataset, DefaultGraph, NamedNode, Quad, RdfFormat, parse

from kg.compile import compile_dataset
from kg.crosswalk import load_mappings, mapping_quads
from kg.curation import Claim, CurationError, Source, TableSource, load_all
from kg.direction import contradictions
from kg.namespaces import Namespaces
from kg.store import KGStore, OxigraphStore
from kg.trusty import Signer
from ontology import ONTOLOGY_FILES
from shapes.validate import ValidationError, nanopublication_quads, validate_claims


@dataclass
class Build:
    """The result of compiling the curated files."""

    ns: Namespaces
    sources: dict[str, Source | TableSource]
    claims: list[Claim]
    quads: list[Quad]
    iris: dict[str, str]  # claim key -> nanopublication IRI


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


def build(kg_dir: Path, base_iri: str, *, validate: bool = True, signer: Signer | None = None) -> Build:
    """Load, compile and (unless told not to) validate everything under ``kg_dir``.

    Raises ``CurationError`` on bad curated input, a source that contradicts itself included, and ``ValidationError``
    when the compiled graph violates a shape.
    """
    ns = Namespaces(base_iri)
    sources, claims = load_all(kg_dir, ns)
    static = [*ontology_quads(ns), *mapping_quads(load_mappings(kg_dir, ns), ns)]
    compiled = compile_dataset(sources, claims, ns, static, signer)
    result = Build(ns, sources, claims, compiled.quads, compiled.iris)
    store = OxigraphStore()
    store.load(result.quads)
    refuse_contradictions(store, {result.iris[c.key]: (c.file, c.line, c.key) for c in claims}, ns)
    if validate:
        report = validate_claims(nanopublication_quads(result.quads, ns), store, ns)
        if not report.conforms:
            raise ValidationError(report)
    return result


Location = tuple[Path, int, str]  # curated file, line, claim key


def refuse_contradictions(store: KGStore, where: dict[str, Location], ns: Namespaces) -> None:
    """``CurationError`` at the later of two current claims of one source that support and dispute the same statement."""
    for found in contradictions(store, ns):
        supporting, disputing = where[found.supporting], where[found.disputing]
        later, earlier = sorted((supporting, disputing), key=lambda w: (str(w[0]), w[1]), reverse=True)
        raise CurationError(later[0], later[1],
                            f"source <{found.supporting_source}> contradicts itself: claim '{supporting[2]}' supports "
                            f"and claim '{disputing[2]}' disputes the same statement (the other is at "
                            f"{earlier[0]}:{earlier[1]}); correct one with a new claim (supersedes:), or give each the "
                            "direction its text gives it")
