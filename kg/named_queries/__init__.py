"""The named SPARQL queries the code runs, kept as files here, and running one with its placeholders bound.

Pages, documents and the write gate run these; the example queries offered to users are in ``kg/queries``.
"""

import json
from pathlib import Path

from pyoxigraph import Quad, QuerySolutions, QueryTriples, Triple

from kg.compile import quad_order
from kg.namespaces import Namespaces
from kg.reads import record
from kg.sparql_text import without_lateral
from kg.store import KGStore, QueryResult

QUERIES = {p.stem: p.read_text(encoding="utf-8") for p in Path(__file__).resolve().parent.glob("*.rq")}
def run_query(store: KGStore, ns: Namespaces, name: str, *, literals: dict[str, str] | None = None,
              **iris: str | list[str]) -> QueryResult:
    """Run a query file with its placeholders (``ENTITY``, ``CLAIM``, ...) bound to IRIs already checked safe.

    A list binds a placeholder that sits in a ``VALUES`` block to several IRIs; ``literals`` binds placeholders to
    string literals (escaped here).
    """
    record([i for bound in iris.values() for i in ([bound] if isinstance(bound, str) else bound)])
    text = ns.rebase(QUERIES[name]) if store.lateral else without_lateral(ns.rebase(QUERIES[name]))
    for placeholder, literal in (literals or {}).items():
        text = text.replace(placeholder, json.dumps(literal))
    for placeholder, bound in iris.items():
        text = text.replace(placeholder, " ".join(f"<{iri}>" for iri in ([bound] if isinstance(bound, str) else bound)))
    return store.query(text)


def run_construct(store: KGStore, ns: Namespaces, name: str, **iris: str | list[str]) -> list[Triple]:
    """Run a CONSTRUCT or DESCRIBE query file; its triples read to the end here.

    pyoxigraph's result iterators may only be dropped by the thread that made them, so none leaves this function.
    """
    result = run_query(store, ns, name, literals=None, **iris)
    assert isinstance(result, QueryTriples | list), f"{name} is not a CONSTRUCT or DESCRIBE query"
    return list(result)


def stored_claim_quads(store: KGStore, ns: Namespaces, iri: str) -> list[Quad]:
    """Every quad of one nanopublication (its four graphs), in a stable order; empty for an unknown claim."""
    result = run_query(store, ns, "claim-quads", CLAIM=iri)
    assert isinstance(result, QuerySolutions)
    return sorted((Quad(row["s"], row["p"], row["o"], row["g"]) for row in result),  # type: ignore[arg-type]
                  key=quad_order)
