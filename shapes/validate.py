"""SHACL validation of the knowledge graph: the gate that every build and write passes.

Two paths give the same verdict: ``validate_dataset`` checks a whole dataset in one pyshacl run;
``validate_claims`` (the gate of builds and writes) checks each nanopublication alone, with only the shared context it needs (its source
document and the labels of the entities it names), so that its cost grows with the change, not the graph.
Every violation names the claim, the curated file and line it came from, the shape's message and the value.
pyshacl runs each SPARQL constraint and each property shape per focus node; here each runs once for all the focus
nodes of a batch where that gives the same results (``joins_on_this``, ``_one_run_per_property_shape``).
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any

from pyoxigraph import NamedNode, Quad, Store
from pyshacl import validate as pyshacl_validate
from pyshacl.constraints.core.shape_based_constraints import PropertyConstraintComponent
from pyshacl.graph_abstraction import OxigraphDataGraph
from pyshacl.helper.sparql_query_helper import SPARQLQueryHelper
from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.namespace import RDF, SH
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import Processor, Result
from rdflib.term import Identifier, Node

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


THIS = Variable("this")
_ONCE_FOR_ALL = ContextVar("once_for_all", default=True)  # False within per_focus_node()


@contextmanager
def per_focus_node() -> Iterator[None]:
    """Within it, pyshacl evaluates as it comes: each SPARQL constraint and property shape per focus node.

    The reference that the gate's one run for all focus nodes is tested and measured against.
    """
    token = _ONCE_FOR_ALL.set(False)
    try:
        yield
    finally:
        _ONCE_FOR_ALL.reset(token)


def _bound(pattern: CompValue) -> frozenset[Variable] | None:
    """The variables every solution of an algebra ``pattern`` binds, or None where ``$this`` is used unbound there.

    None also for what is not known to keep the two evaluations equal: MINUS, VALUES, sub-queries, aggregates, LIMIT.
    """
    name = pattern.name
    if name == "BGP":
        return frozenset(t for triple in pattern.triples for t in triple if isinstance(t, Variable))
    if name in ("Project", "Distinct", "Reduced"):
        return _bound(pattern.p)
    if name in ("Filter", "Extend", "Graph"):
        inner = _bound(pattern.p)
        if inner is None or (THIS not in inner and _mentions_this(pattern.get("expr"))) or pattern.get("var") == THIS:
            return None
        extra = {pattern.get("var"), pattern.get("term")}
        return inner | {v for v in extra if isinstance(v, Variable)}
    if name in ("Join", "Union", "LeftJoin"):
        left, right = _bound(pattern.p1), _bound(pattern.p2)
        if left is None or right is None:
            return None
        if name == "LeftJoin":
            return left if THIS in left or not _mentions_this([pattern.p2, pattern.get("expr")]) else None
        return left | right if name == "Join" else left & right
    return None


def _mentions_this(part: object) -> bool:
    """Whether ``$this`` occurs anywhere in an algebra expression or pattern (inside EXISTS too)."""
    if isinstance(part, str):  # variables, IRIs and literals are strings
        return isinstance(part, Variable) and part == THIS
    if isinstance(part, Mapping):
        part = part.values()
    return isinstance(part, Iterable) and any(map(_mentions_this, part))


@lru_cache(maxsize=256)
def joins_on_this(text: str) -> bool:
    """Whether one run of a SPARQL constraint, its solutions taken per focus node, answers as pre-binding ``$this`` does.

    True when the query selects ``$this``, every solution binds it, and each filter, BIND and OPTIONAL that uses it sits
    where it is bound (as it is then a constant of the solution, like the pre-bound value).
    """
    try:
        query = prepareQuery(text).algebra
    except Exception:  # rdflib raises pyparsing's errors and plain exceptions: such a text runs per focus node, as it comes
        return False
    bound = _bound(query.p) if query.name == "SelectQuery" else None
    return bound is not None and THIS in bound and THIS in query.PV


class _OxigraphData(OxigraphDataGraph):
    """pyshacl's view of an Oxigraph store: always true, and each SPARQL constraint evaluated once for all its focus nodes.

    pyshacl tests ``datagraph or shapes`` for every result it describes; the length that test asks for counts the
    whole store, once per result. And it runs each SPARQL constraint once per focus node, with ``$this`` pre-bound;
    where ``joins_on_this`` says the answers are the same, the first run answers for every focus node.
    """

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self._answers: dict[str, tuple[list[Variable], dict[Node, list[Mapping[Variable, Identifier]]]]] = {}

    def __bool__(self) -> bool:
        return True

    def query(self, query_object: str | Query, processor: str | Processor = "sparql",  # type: ignore[override]
              result: str | type[Result] = "sparql", initNs: Mapping[str, Any] | None = None,  # noqa: N803
              initBindings: Mapping[str, Any] | None = None, use_store_provided: bool = True,  # noqa: N803
              **kwargs: Any) -> Result:
        """Answer a query; a constraint's query with only ``$this`` pre-bound from its one run for all nodes."""
        if not (_ONCE_FOR_ALL.get() and initBindings and set(initBindings) == {"this"} and isinstance(query_object, str)
                and joins_on_this(query_object)):
            return super().query(query_object, processor, result, initNs, initBindings, use_store_provided, **kwargs)
        answers = self._answers
        if query_object not in answers:
            everything = super().query(query_object, initNs=initNs, **kwargs)
            by_node: dict[Node, list[Mapping[Variable, Identifier]]] = defaultdict(list)
            for row in everything.bindings:
                by_node[row[THIS]].append(row)
            answers[query_object] = (list(everything.vars or ()), by_node)
        variables, by_node = answers[query_object]
        out = Result("SELECT")
        out.vars, out.bindings = variables, by_node.get(initBindings["this"], [])
        return out


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


def _one_run_per_property_shape(evaluate: Callable[..., tuple[bool, list[Any]]]) -> Callable[..., tuple[bool, list[Any]]]:
    """Validate a node shape's property shape once for all its focus nodes, as pyshacl validates a node shape.

    pyshacl validates each ``sh:property`` shape once per focus node, building its constraints anew each time: most of
    the gate's time once the SPARQL constraints ran once per batch. No SHACL constraint relates two focus nodes, so each
    gets the results it gets alone.
    """

    @wraps(evaluate)
    def evaluated(self: PropertyConstraintComponent, executor: object, prop_shape: Node, target_graph: object,
                  focus_value_nodes: dict[Node, list[Node]], *rest: object) -> tuple[bool, list[Any]]:
        if not _ONCE_FOR_ALL.get():
            return evaluate(self, executor, prop_shape, target_graph, focus_value_nodes, *rest)
        nodes = list(dict.fromkeys(v for values in focus_value_nodes.values() for v in values))
        # pyshacl validates the shape against each value node it is given; given one list, against all of them at once
        return evaluate(self, executor, prop_shape, target_graph, {None: [nodes]}, *rest)

    return evaluated


PropertyConstraintComponent._evaluate_property_shape = _one_run_per_property_shape(  # type: ignore[method-assign]
    PropertyConstraintComponent._evaluate_property_shape)


def run_shapes(quads: list[Quad], ns: Namespaces, locations: dict[str, dict[str, str]]) -> Report:
    """One pyshacl run over ``quads``; each violation located by ``locations`` (``claim_locations``)."""
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
    return run_shapes(quads, ns, claim_locations(quads, ns))


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


# Runs pyshacl over quads (``run_shapes``, here or in a process of its own: ``shapes.validator``).
Runner = Callable[[list[Quad], Namespaces, dict[str, dict[str, str]]], Report]


def validate_claims(claims: dict[str, list[Quad]], store: KGStore, ns: Namespaces, batch: int = BATCH,
                    runner: Runner = run_shapes) -> Report:
    """Validate the nanopublications ``batch`` at a time, with their context from ``store`` (which need not hold them).

    A batch is checked in one pyshacl run (by ``runner``): no shape relates two claims, so each claim gets the verdict
    it gets alone, and one run's fixed cost is shared by the batch.
    """
    groups = list(claims.values())
    reports = []
    for start in range(0, len(groups), batch):
        quads = [q for group in groups[start:start + batch] for q in group]
        reports.append(runner([*quads, *claim_context(store, quads, ns)], ns, claim_locations(quads, ns)))
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
