"""The write gate: a claim in the curated fields becomes a nanopublication, checked, then committed in one transaction.

Every write runs the same checks as a build (the claim's fields, its quote located in the source, the SHACL gate on
the new nanopublication with its context, and the rule that a source may not both support and dispute a statement,
``kg/queries/opposing-claims.rq``; another source disputing a statement is a disagreement, and is accepted), and is
recorded in the graph ``<base>graph/writes`` (who, when, what). A rejected write raises ``WriteRejected`` before
anything is written; an accepted one is one ``load`` or ``replace`` (one transaction on every store).
"""

import datetime as dt
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyoxigraph import BlankNode, Literal, NamedNode, Quad, RdfFormat, parse

from kg import isolated
from kg.compile import curation_quads, nanopublication, quad_order
from kg.direction import DISPUTES, SUPPORTS, Opposition, contradictions, direction_iri
from kg.model import Claim, CurationError, Source, TableSource
from kg.named_queries import run_query, stored_claim_quads
from kg.namespaces import BIOLINK, OA, PROV, RDF, RDFS, XSD, Namespaces
from kg.settings import Settings
from kg.store import KGStore, OxigraphStore, select_rows
from kg.tokens import Agent
from kg.trusty import Signer
from pipeline.readers.text import parse_claim
from shapes.validate import Report, Runner, nanopublication_quads, run_shapes, validate_claims
from shapes.validator import ValidatorStoppedError

LOG = logging.getLogger(__name__)
WRITE_LOCK = threading.Lock()  # checks and commit of one write are not interleaved with another's
REQUEST = Path("request body")


class WriteRejected(Exception):  # noqa: N818 - the name says what happened to the write
    """A write refused with an HTTP status, a message and, for shape violations, the validation report."""

    def __init__(self, status: int, message: str, report: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.report = status, message, report or []


LineOf = Callable[[str | None], int]


def _claim(fields: dict[str, Any], source: Source, ns: Namespaces, agent: Agent, origin: tuple[Path, LineOf] | None) -> Claim:
    path, line_of = origin or (REQUEST, lambda _: 1)
    try:
        return parse_claim(fields, source, ns, defaults={}, created=dt.datetime.now(dt.UTC).replace(microsecond=0),
                           creator=f"{ns.base}agent/{agent.name}", path=path, line_of=line_of)
    except CurationError as exc:
        raise WriteRejected(422, exc.message if origin is None else str(exc)) from None


def _superseded_key(store: KGStore, ns: Namespaces, old: str) -> str:
    rows = select_rows(run_query(store, ns, "claim-status", CLAIM=old))
    if not rows:
        raise WriteRejected(404, f"no claim {old} in poems-kg")
    if any(r.get("newer") for r in rows):
        raise WriteRejected(409, f"{old} is already superseded by {rows[0]['newer']}; supersede that one instead")
    return rows[0]["key"]


def _statement_trial(store: KGStore, ns: Namespaces, nanopubs: dict[str, list[Quad]]) -> OxigraphStore:
    """The given nanopublications beside every current claim that could contradict one of them.

    Those of the same source on the same statement in the opposite direction (supports, disputes); claims of other
    sources, or in the same direction, add nothing to check, however many quote the statement.
    """
    supports, disputes = direction_iri(SUPPORTS, ns), direction_iri(DISPUTES, ns)
    opposite = {supports: disputes, disputes: supports}
    roles = {BIOLINK + "subject": "subject", BIOLINK + "predicate": "predicate", BIOLINK + "object": "object",
             ns.entity + "direction": "direction"}
    others: set[str] = set()
    for group in nanopubs.values():
        sources = {q.object.value for q in group if q.predicate.value == OA + "hasSource"}  # type: ignore[union-attr]
        parts = {(q.subject, roles[q.predicate.value]): q.object.value for q in group
                 if q.predicate.value in roles and isinstance(q.object, NamedNode)}
        for node in {node for node, role in parts if role == "direction" and parts[node, role] in opposite}:
            if all((node, role) in parts for role in ("subject", "predicate", "object")):
                others |= {row["claim"] for source in sorted(sources) for row in select_rows(run_query(
                    store, ns, "same-statement", SUBJECT=parts[node, "subject"], PREDICATE=parts[node, "predicate"],
                    OBJECT=parts[node, "object"], DIRECTION=opposite[parts[node, "direction"]], SOURCE=source))}
    trial = OxigraphStore()
    trial.load([*(q for group in nanopubs.values() for q in group),
                *(q for iri in sorted(others - set(nanopubs)) for q in stored_claim_quads(store, ns, iri))])
    return trial


def _validated(claims: dict[str, list[Quad]], store: KGStore, ns: Namespaces, runner: Runner) -> Report:
    """``validate_claims``; a validator process that stopped refuses the write (503)."""
    try:
        return validate_claims(claims, store, ns, runner=runner)
    except ValidatorStoppedError as exc:
        raise WriteRejected(503, f"{exc}; nothing was written") from None


def _report(found: list[Opposition]) -> list[dict[str, Any]]:
    return [{"supporting": o.supporting, "disputing": o.disputing, "source": o.supporting_source,
             "supporting_quote": o.supporting_quote, "disputing_quote": o.disputing_quote} for o in found]


def _record(claim_iri: str, agent: Agent, action: str, superseded: str | None, ns: Namespaces) -> list[Quad]:
    g, node, who = NamedNode(ns.graph + "writes"), NamedNode(claim_iri), NamedNode(f"{ns.base}agent/{agent.name}")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    out = [Quad(who, NamedNode(RDF + "type"), NamedNode(PROV + "Agent"), g),
           Quad(who, NamedNode(RDFS + "label"), Literal(agent.name), g),
           Quad(node, NamedNode(PROV + "wasAttributedTo"), who, g),
           Quad(node, NamedNode(PROV + "generatedAtTime"), Literal(now, datatype=NamedNode(XSD + "dateTime")), g),
           Quad(node, NamedNode(ns.entity + "writeAction"), Literal(action), g)]
    if superseded:
        out.append(Quad(node, NamedNode(PROV + "wasRevisionOf"), NamedNode(superseded), g))
    return out


def add_claim(store: KGStore, ns: Namespaces, sources: dict[str, Source | TableSource], fields: dict[str, Any], agent: Agent,
              supersedes: str | None = None, signer: Signer | None = None, origin: tuple[Path, LineOf] | None = None,
              runner: Runner = run_shapes) -> str:
    """Check and commit one claim; returns its IRI. The API's claim writes and ``poems-kg add-claim`` both call this.

    ``supersedes``: the IRI of the claim it corrects; ``signer``: who signs the new nanopublication, if anyone;
    ``origin``: the file the fields were read from and the line of each field, named in a refusal (default: the
    request body, its fields unnumbered); ``runner``: where the shapes run (default: here).
    """
    fields = dict(fields)
    source_id = str(fields.pop("source"))
    if source_id not in sources:
        raise WriteRejected(422, f"unknown source '{source_id}' (known: {', '.join(sorted(sources))})")
    source = sources[source_id]
    if not isinstance(source, Source):
        raise WriteRejected(422, f"source '{source_id}' is a table: its claims are its rows, read from its release")
    with WRITE_LOCK:
        old_key = _superseded_key(store, ns, supersedes) if supersedes else None
        if old_key:
            fields["supersedes"] = old_key
        claim = _claim(fields, source, ns, agent, origin)
        if select_rows(run_query(store, ns, "claim-by-key", literals={"KEY": claim.key})):
            raise WriteRejected(409, f"claim key '{claim.key}' is taken; choose another key or supersede that claim")
        iri, quads = nanopublication(claim, source, supersedes, ns, signer)
        if select_rows(run_query(store, ns, "claim-status", CLAIM=iri)):
            raise WriteRejected(409, f"the same claim already exists as {iri}")
        quads += curation_quads(claim, iri, ns, None)
        report = _validated({iri: quads}, store, ns, runner)
        if not report.conforms:
            raise WriteRejected(422, "the claim violates the shapes; nothing was written",
                                [{"shape": v.shape, "message": v.message, "value": v.value} for v in report.violations])
        found = contradictions(_statement_trial(store, ns, {iri: quads}), ns)
        if found:
            raise WriteRejected(422, "the claim contradicts a current claim of the same source (one supports what the "
                                "other disputes); supersede that claim instead; nothing was written", _report(found))
        store.load([*quads, *_record(iri, agent, "supersede" if supersedes else "create", supersedes, ns)])
    return iri



Mutation = Callable[[OxigraphStore], None]
# What a change reads and writes, when the caller knows it: whole named graphs (a Graph Store request), or the quads an
# update of data only names (INSERT DATA, DELETE DATA): whether the store holds them is all its effect depends on.
Scope = list[NamedNode] | frozenset[Quad]


def data_update(update: str) -> Mutation:
    """The change an update of data only makes, applied as it is to the copy of the quads it names.

    It has no pattern to evaluate, so it runs here: its work is bounded by its length (``max_query_bytes``).
    """
    def mutate(trial: OxigraphStore) -> None:
        trial.update(update)

    return mutate


def sparql_update(update: str, settings: Settings) -> Mutation:
    """The change a SPARQL Update makes, evaluated in a fresh process under the memory and time limits (``kg.isolated``)."""
    def mutate(trial: OxigraphStore) -> None:
        added, removed = isolated.run("update", (trial.dump(RdfFormat.N_QUADS), update, settings.max_request_quads),
                                     settings)
        trial.discard(parse(removed, format=RdfFormat.N_QUADS))
        trial.load(parse(added, format=RdfFormat.N_QUADS))

    return mutate


def _quads(store: KGStore, scope: Scope | None) -> set[Quad]:
    if scope is None:
        return set(parse(store.dump(RdfFormat.N_QUADS), format=RdfFormat.N_QUADS))
    if isinstance(scope, frozenset):
        return _present(store, scope)
    return {Quad(r["s"], r["p"], r["o"], graph) for graph in scope  # type: ignore[arg-type]
            for r in store.query(f"SELECT ?s ?p ?o WHERE {{ GRAPH {graph} {{ ?s ?p ?o }} }}")}  # type: ignore[union-attr]


def _present(store: KGStore, quads: frozenset[Quad]) -> set[Quad]:
    """Those of ``quads`` the store holds, as it holds them (one lookup of each; a blank node is always new).

    One VALUES row per branch of a UNION: Virtuoso 7.2 matches none of the rows of a VALUES block of several (a
    ``DELETE DATA`` of two quads removed nothing there).
    """
    lookups = [f"{{ VALUES (?s ?p ?o ?g) {{ ({q.subject} {q.predicate} {q.object} {q.graph_name}) }} GRAPH ?g {{ ?s ?p ?o }} }}"
               for q in quads if not isinstance(q.subject, BlankNode) and not isinstance(q.object, BlankNode)]
    if not lookups:
        return set()
    found = store.query(f"SELECT ?s ?p ?o ?g WHERE {{ {' UNION '.join(lookups)} }}")
    return {Quad(r["s"], r["p"], r["o"], r["g"]) for r in found}  # type: ignore[arg-type, index, union-attr]


def change(store: KGStore, ns: Namespaces, agent: Agent, action: str, mutate: Mutation,
           scope: Scope | None = None, runner: Runner = run_shapes) -> tuple[int, int]:
    """Apply an arbitrary change (SPARQL Update, Graph Store Protocol) through the same gate as a claim write.

    ``mutate`` runs on a trial copy; the difference is checked (every nanopublication it touches must still conform
    to the shapes, and it must not create a contradiction) and then committed as one ``DELETE DATA``/``INSERT DATA``
    update, with its record. ``scope``: what the change reads and writes, when the caller knows it (``Scope``): then
    only that is copied and only the touched nanopublications are checked beside the store, so the write does not
    grow with the store (an update of data only: not with its graphs either); without it, the whole store is copied.
    ``runner``: where the shapes run (default: here). Returns ``(quads added, quads removed)``.
    """
    with WRITE_LOCK:
        before = _quads(store, scope)
        trial = OxigraphStore()
        trial.load(before)
        try:
            mutate(trial)
        except (SyntaxError, ValueError) as exc:
            raise WriteRejected(400, f"cannot apply the change: {exc}") from None
        except isolated.TaskError as exc:
            cause = f"cannot apply the change: {exc.message}" if exc.status == 400 else exc.message
            raise WriteRejected(exc.status, f"{cause}; nothing was written") from None
        after = _quads(trial, None)
        added, removed = after - before, before - after
        if not added and not removed:
            return 0, 0
        if any(isinstance(t, BlankNode) for q in removed for t in (q.subject, q.object)):
            raise WriteRejected(422, "the change removes statements about blank nodes, which cannot be removed "
                                     "by their content; nothing was written")
        def claim_of(quad: Quad) -> str | None:  # the nanopublication whose graph holds the quad
            graph = quad.graph_name
            in_claim = isinstance(graph, NamedNode) and graph.value.startswith(ns.claim)
            return graph.value.partition("#")[0] if in_claim else None  # type: ignore[union-attr]

        touched = {iri for q in added | removed if (iri := claim_of(q))}
        if scope is None:
            claims = {iri: quads for iri, quads in nanopublication_quads(list(after), ns).items() if iri in touched}
            report = _validated(claims, trial, ns, runner)
            new = set(contradictions(trial, ns)) - set(contradictions(store, ns))
        else:  # the touched nanopublications as they were and as they will be, each beside the store
            was = {iri: stored_claim_quads(store, ns, iri) for iri in sorted(touched)}
            will = {iri: sorted((set(quads) - removed) | {q for q in added if claim_of(q) == iri}, key=quad_order)
                    for iri, quads in was.items()}
            will = {iri: quads for iri, quads in will.items() if quads}
            report = _validated(will, store, ns, runner)
            new = set(contradictions(_statement_trial(store, ns, will), ns)) - set(
                contradictions(_statement_trial(store, ns, was), ns))
        if not report.conforms:
            raise WriteRejected(422, "the change breaks nanopublications' shapes; nothing was written",
                                [{"shape": v.shape, "message": v.message, "value": v.value, "claim": v.claim}
                                 for v in report.violations])
        if new:
            raise WriteRejected(422, "the change makes a source contradict itself (one of its claims supports what "
                                "another disputes); nothing was written", _report(sorted(new, key=str)))
        g = NamedNode(ns.graph + "writes")
        node = NamedNode(f"{ns.base}change/{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S%fZ')}")
        record = [*_record(node.value, agent, action, None, ns),
                  Quad(node, NamedNode(ns.entity + "quadsAdded"), Literal(str(len(added)), datatype=NamedNode(XSD + "integer")), g),
                  Quad(node, NamedNode(ns.entity + "quadsRemoved"), Literal(str(len(removed)), datatype=NamedNode(XSD + "integer")), g)]
        store.replace(removed, [*added, *record])
        return len(added), len(removed)

