"""The SPARQL query files in ``api/queries``, and running one with its placeholders bound."""

from pathlib import Path

from kg.namespaces import Namespaces
from kg.store import KGStore, QueryResult

QUERIES = {p.stem: p.read_text(encoding="utf-8") for p in (Path(__file__).resolve().parent / "queries").glob("*.rq")}


def run_query(store: KGStore, ns: Namespaces, name: str, **iris: str | list[str]) -> QueryResult:
    """Run a query file with its placeholders (``ENTITY``, ``CLAIM``, ...) bound to IRIs already checked safe.

    A list binds a placeholder that sits in a ``VALUES`` block to several IRIs.
    """
    text = ns.rebase(QUERIES[name])
    for placeholder, value in iris.items():
        text = text.replace(placeholder, " ".join(f"<{iri}>" for iri in ([value] if isinstance(value, str) else value)))
    return store.query(text)
