"""The build pipeline shared by the CLI and the API: curated files -> validated quads."""

from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import CanonicalizationAlgorithm, Dataset, DefaultGraph, NamedNode, Quad, RdfFormat, parse

from kg.biolink import category_quads
from kg.compile import compile_dataset
from kg.direction import contradictions
from kg.model import Claim, CurationError, Source, TableSource
from kg.namespaces import Namespaces
from kg.store import KGStore, OxigraphStore
from kg.terms import ONTOLOGY_FILES, ontology_files, read_text
from kg.trusty import Signer
from pipeline.readers.crosswalk import load_mappings, mapping_quads
from pipeline.readers.folder import LOG, load_all
from shapes.validate import ValidationError, nanopublication_quads, validate_claims


@dataclass
class Build:
    """The result of compiling the curated files."""

    ns: Namespaces
    sources: dict[str, Source | TableSource]
    claims: list[Claim]
    quads: list[Quad]
    iris: dict[str, str]  # claim key -> nanopublication IRI
    files: tuple[Path, ...] = ONTOLOGY_FILES  # the ontology files, with the import slices of the curated folder


def ontology_quads(ns: Namespaces, files: tuple[Path, ...] = ONTOLOGY_FILES) -> list[Quad]:
    """The ontology and its import slices (ontology graph, blank nodes canonically named), and their terms' categories.

    The Biolink category of each term is in the categories graph (``kg.biolink``).
    """
    graph = NamedNode(ns.graph + "ontology")
    quads = Dataset()
    for path in files:
        for quad in parse(ns.rebase(read_text(path)).encode(), format=RdfFormat.TURTLE):
            assert isinstance(quad.graph_name, DefaultGraph)
            quads.add(Quad(quad.subject, quad.predicate, quad.object, graph))
    quads.canonicalize(CanonicalizationAlgorithm.UNSTABLE)
    return [*quads, *category_quads(ns, files)]


def build(kg_dir: Path, base_iri: str, *, validate: bool = True, signer: Signer | None = None) -> Build:
    """Load, compile and (unless told not to) validate everything under ``kg_dir``.

    Raises ``CurationError`` on bad curated input, a source that contradicts itself included, and ``ValidationError``
    when the compiled graph violates a shape.
    """
    ns = Namespaces(base_iri)
    sources, claims = load_all(kg_dir, ns)
    files = ontology_files(kg_dir)
    static = [*ontology_quads(ns, files), *mapping_quads(load_mappings(kg_dir, ns), ns)]
    compiled = compile_dataset(sources, claims, ns, static, signer)
    result = Build(ns, sources, claims, compiled.quads, compiled.iris, files)
    store = OxigraphStore()
    store.load(result.quads)
    left_out = refuse_contradictions(store, {result.iris[c.key]: (c.file, c.line, c.key) for c in claims}, ns,
                                     skips_bad_rows(sources, ns))
    if left_out:
        store.update(leave_out(left_out, ns))
        result = Build(ns, sources, [c for c in claims if result.iris[c.key] not in left_out],
                       [q for q in result.quads if claim_of(q, ns) not in left_out],
                       {k: v for k, v in result.iris.items() if v not in left_out}, files)
    if validate:
        report = validate_claims(nanopublication_quads(result.quads, ns), store, ns)
        if not report.conforms:
            raise ValidationError(report)
    return result


Location = tuple[Path, int, str]  # curated file, line, claim key


def skips_bad_rows(sources: dict[str, Source | TableSource], ns: Namespaces) -> set[str]:
    """The IRIs of the table sources whose metadata says ``bad_rows: skip``."""
    return {ns.source + s.id for s in sources.values() if isinstance(s, TableSource) and s.skip_bad_rows}


def claim_of(quad: Quad, ns: Namespaces) -> str | None:
    """The nanopublication a quad belongs to (one of its graphs, or its curation record), if any."""
    graph = getattr(quad.graph_name, "value", "")
    if graph.startswith(ns.claim):
        return str(graph.split("#", 1)[0])
    return str(quad.subject.value) if graph == ns.graph + "curation" and isinstance(quad.subject, NamedNode) else None


def leave_out(nanopubs: set[str], ns: Namespaces) -> str:
    """The SPARQL update that removes nanopublications (their four graphs and their curation records)."""
    graphs = " ".join(f"DROP SILENT GRAPH <{iri}#{part}> ;" for iri in sorted(nanopubs)
                      for part in ("head", "assertion", "provenance", "pubinfo"))
    values = " ".join(f"<{iri}>" for iri in sorted(nanopubs))
    return f"{graphs} DELETE {{ GRAPH <{ns.graph}curation> {{ ?np ?p ?o }} }} WHERE {{ VALUES ?np {{ {values} }} " \
           f"GRAPH <{ns.graph}curation> {{ ?np ?p ?o }} }}"


def refuse_contradictions(store: KGStore, where: dict[str, Location], ns: Namespaces,
                          skipping: frozenset[str] | set[str] = frozenset()) -> set[str]:
    """``CurationError`` at the later of two current claims of one source that support and dispute the same statement.

    For a source in ``skipping`` (``bad_rows: skip``), both claims are left out with a warning naming both lines
    instead; returns their nanopublication IRIs.
    """
    left_out: set[str] = set()
    for found in contradictions(store, ns):
        supporting, disputing = where[found.supporting], where[found.disputing]
        if found.supporting_source in skipping:
            LOG.warning("skipped: %s:%s and %s:%s: the source supports and disputes the same statement",
                        supporting[0], supporting[1], disputing[0], disputing[1])
            left_out |= {found.supporting, found.disputing}
            continue
        later, earlier = sorted((supporting, disputing), key=lambda w: (str(w[0]), w[1]), reverse=True)
        raise CurationError(later[0], later[1],
                            f"source <{found.supporting_source}> contradicts itself: claim '{supporting[2]}' supports "
                            f"and claim '{disputing[2]}' disputes the same statement (the other is at "
                            f"{earlier[0]}:{earlier[1]}); correct one with a new claim (supersedes:), or give each the "
                            "direction its text gives it")
    return left_out
