"""SHACL validation of the knowledge graph: the gate that every build and write passes.

Two paths give the same verdict: ``validate_dataset`` checks a whole dataset in one pyshacl run;
``validate_claims`` (the gate of builds and writes) checks each nanopublication alone, with only the shared context it needs (its source
document and the labels of the entities it names), so that its cost grows with the change, not the graph.
Every violation names the claim, the curated file and line it came from, the shape's message and the value.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache, wraps
from pathlib import Path

from pyoxigraph import NamedNode, Quad, Store
from pyshacl import validate as pyshacl_validate
from pyshacl.graph_abstraction import OxigraphDataGraph
from pyshacl.helper.sparql_query_helper import SPARQLQueryHelper
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from kg.namespaces import Namespaces
from kg.store import KGStore

SHAPES_DIR = Path(__file__).resolve().parent
BATCH = 200  # nanopublications validated in one pyshacl run
SHAPE_FILES = tuple(sorted(SHAPES_DIR.glob("*.ttl")))
# What one claim needs besides its own graphs: its source document and the labels of what it names.
CLAIM_CONTEXT = """
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
CONSTRUCT {{ ?source ?p ?o . ?o ?p2 ?o2 . ?entity rdfs:label ?label }} WHERE {{
  {{ VALUES ?source {{ {sources} }} GRAPH <{sources_graph}> {{ ?source ?p ?o OPTIONAL {{ ?o ?p2 ?o2 }} }} }}
  UNION
  {{ VALUES ?entity {{ {entities} }} GRAPH ?g {{ ?entity rdfs:label ?label }} }}
}}"""


@dataclass(frozen=True)
class Violation:
    """One SHACL result, located in the curated files."""

    focus: str
    message: str
    value: str | None
    shape: str
    claim: str | None = None  # nanopublication IRI
    key: str | None = None
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file else ""
        what = f"claim '{self.key}' <{self.claim}>" if self.claim else f"<{self.focus}>"
        value = f" (value: {self.value})" if self.value is not None else ""
        return f"{where}{what}: {self.message}{value}"


@dataclass
class Report:
    """The verdict and the SHACL validation report graph."""

    violations: list[Violation]
    graph: Graph

    @property
    def conforms(self) -> bool:
        """True when nothing violates a shape."""
        return not self.violations


class ValidationError(Exception):
    """Raised by write paths when the data does not conform; carries the report."""

    def __init__(self, report: Report) -> None:
        lines = [str(v) for v in report.violations]
        super().__init__(f"{len(lines)} SHACL violation(s):\n" + "\n".join(lines))
        self.report = report


@lru_cache(maxsize=4)
def shapes_graph(base_iri: str) -> Graph:
    """All shape files in one graph, rebased to the configured base IRI."""
    graph = Graph()
    ns = Namespaces(base_iri)
    for path in SHAPE_FILES:
        graph.parse(data=ns.rebase(path.read_text(encoding="utf-8")), format="turtle")
    return graph


class _OxigraphData(OxigraphDataGraph):
    """pyshacl's view of an Oxigraph store, always true.

    pyshacl tests ``datagraph or shapes`` for every result it describes; the length that test asks for counts the
    whole store, once per result.
    """

    def __bool__(self) -> bool:
        return True


def _check_each_text_once(check: Callable[..., bool]) -> Callable[..., bool]:
    """Check each SPARQL constraint text once for the clauses SHACL forbids; refuse a forbidden one every time.

    pyshacl checks the text again for every focus node, although the verdict depends on the text alone: that was half
    of the gate's time.
    """
    passed: set[tuple[str, bool, frozenset[str]]] = set()

    @wraps(check)
    def checked(self: SPARQLQueryHelper, sparql_text: str, valuenode: object = None,
                extravars: Iterable[str] | None = None) -> bool:
        key = (sparql_text, valuenode is not None, frozenset(extravars or ()))
        if key not in passed:
            check(self, sparql_text, valuenode=valuenode, extravars=extravars)  # raises on a forbidden clause
            passed.add(key)
        return True

    return checked


SPARQLQueryHelper.check_invalid_sparql = _check_each_text_once(SPARQLQueryHelper.check_invalid_sparql)  # type: ignore[method-assign]


def _run(quads: list[Quad], ns: Namespaces, locations: dict[str, dict[str, str]]) -> Report:
    data = Store()
    data.extend(quads)
    # pyshacl evaluates on the Oxigraph store itself: SPARQL constraints run in Oxigraph, not in rdflib.
    shapes = shapes_graph(ns.base)
    _, report_graph, _ = pyshacl_validate(_OxigraphData(data), shacl_graph=shapes, inplace=True,
                                          allow_warnings=True)
    assert isinstance(report_graph, Graph), (type(report_graph), report_graph)
    violations = []
    for result in report_graph.subjects(SH.resultSeverity, SH.Violation):
        focus = str(report_graph.value(result, SH.focusNode))
        value = report_graph.value(result, SH.value)
        claim = focus.split("#", 1)[0] if focus.startswith(ns.claim) else None
        where = locations.get(claim or "", {})
        shape = _node_shape(shapes, report_graph.value(result, SH.sourceShape))
        violations.append(Violation(
            focus=focus, message=str(report_graph.value(result, SH.resultMessage) or "violates a shape"),
            value=None if value is None else str(value), shape=shape,
            claim=claim, key=where.get("key"), file=where.get("file"),
            line=int(where["line"]) if "line" in where else None))
    violations.sort(key=lambda v: (v.file or "", v.line or 0, v.message))
    return Report(violations, report_graph)


def _node_shape(shapes: Graph, shape: Node | None) -> str:
    """The named node shape a result comes from (a property shape is a blank node inside one)."""
    while shape is not None and not isinstance(shape, URIRef):
        shape = shapes.value(predicate=SH.property, object=shape) or shapes.value(predicate=SH.sparql, object=shape)
    return str(shape or "")


def claim_locations(quads: list[Quad], ns: Namespaces) -> dict[str, dict[str, str]]:
    """Nanopublication IRI -> its claim key, curated file and line (read off the curation graph)."""
    fields = {ns.entity + "claimKey": "key", ns.entity + "curatedIn": "file", ns.entity + "curatedAtLine": "line"}
    curation = NamedNode(ns.graph + "curation")
    locations: dict[str, dict[str, str]] = defaultdict(dict)
    for q in quads:
        if q.graph_name == curation and q.predicate.value in fields:
            locations[str(getattr(q.subject, "value", ""))][fields[q.predicate.value]] = str(getattr(q.object, "value", q.object))
    return locations


def validate_dataset(quads: list[Quad], ns: Namespaces) -> Report:
    """Validate a whole dataset in one pyshacl run.

    Its cost grows faster than the graph (pyshacl runs each SPARQL constraint per focus node over the whole store),
    so the build gate uses ``validate_claims``; this path is the reference the per-claim path is checked against.
    """
    return _run(quads, ns, claim_locations(quads, ns))


def nanopublication_quads(quads: Iterable[Quad], ns: Namespaces) -> dict[str, list[Quad]]:
    """The quads of each nanopublication (its four graphs and its curation record), by nanopublication IRI."""
    groups: dict[str, list[Quad]] = defaultdict(list)
    curation = NamedNode(ns.graph + "curation")
    for quad in quads:
        graph = quad.graph_name
        if isinstance(graph, NamedNode) and graph.value.startswith(ns.claim):
            groups[graph.value.split("#", 1)[0]].append(quad)
        elif graph == curation and isinstance(quad.subject, NamedNode):
            groups[quad.subject.value].append(quad)
    return groups


def claim_context(store: KGStore, claim: list[Quad], ns: Namespaces) -> list[Quad]:
    """The shared context one claim is validated with: its sources and the labels of every IRI it uses."""
    sources = {q.object for q in claim if q.predicate.value == "http://www.w3.org/ns/oa#hasSource"}
    entities = {t for q in claim for t in (q.subject, q.predicate, q.object) if isinstance(t, NamedNode)}
    query = CLAIM_CONTEXT.format(sources=" ".join(str(s) for s in sources) or "<urn:none>",
                                 sources_graph=ns.graph + "sources",
                                 entities=" ".join(str(e) for e in entities) or "<urn:none>")
    graph = NamedNode(ns.graph + "context")
    return [Quad(t.subject, t.predicate, t.object, graph) for t in store.query(query)]  # type: ignore[union-attr]


def validate_claims(claims: dict[str, list[Quad]], store: KGStore, ns: Namespaces, batch: int = BATCH) -> Report:
    """Validate the nanopublications ``batch`` at a time, with their context from ``store`` (which need not hold them).

    A batch is checked in one pyshacl run: no shape relates two claims, so each claim gets the verdict it gets alone,
    and one run's fixed cost is shared by the batch.
    """
    groups = list(claims.values())
    reports = []
    for start in range(0, len(groups), batch):
        quads = [q for group in groups[start:start + batch] for q in group]
        reports.append(_run([*quads, *claim_context(store, quads, ns)], ns, claim_locations(quads, ns)))
    # A source's own problem shows up with every claim that cites it: report it once.
    violations = list(dict.fromkeys(v for r in reports for v in r.violations))
    return Report(violations, _merge([r.graph for r in reports]))


def _merge(reports: list[Graph]) -> Graph:
    """One SHACL validation report holding the results of several runs."""
    merged, node = Graph(), BNode()
    merged.add((node, RDF.type, SH.ValidationReport))
    merged.add((node, SH.conforms, Literal(all(g.value(r, SH.conforms) == Literal(True)
                                               for g in reports for r in g.subjects(RDF.type, SH.ValidationReport)))))
    for graph in reports:
        for report in graph.subjects(RDF.type, SH.ValidationReport):
            for result in graph.objects(report, SH.result):
                merged.add((node, SH.result, result))
        merged += ((s, p, o) for s, p, o in graph if not graph.value(s, RDF.type) == SH.ValidationReport)
    return merged
