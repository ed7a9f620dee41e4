"""The store interface, the embedded Oxigraph store and a remote SPARQL 1.1 server behind the same interface."""

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Protocol

import httpx
from pyoxigraph import (
    DefaultGraph,
    NamedNode,
    Quad,
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Store,
    Triple,
    parse,
    parse_query_results,
    serialize,
)

from kg.settings import Settings

QueryResult = QuerySolutions | QueryBoolean | QueryTriples | list[Triple]  # a remote CONSTRUCT answers a list


class KGStore(Protocol):
    """What the API and CLI need from a store, whatever the backend."""

    def load(self, quads: Iterable[Quad]) -> None:
        """Add quads atomically: all or nothing."""

    def replace(self, removed: Iterable[Quad], added: Iterable[Quad]) -> None:
        """Remove some quads and add others atomically: all or nothing."""

    def query(self, sparql: str, *, default_graph: list[str] | None = None,
              named_graphs: list[str] | None = None) -> QueryResult:
        """Run a SPARQL query; the default graph is the union of all graphs unless given."""

    def update(self, sparql: str) -> None:
        """Run a SPARQL update."""

    def dump(self, fmt: RdfFormat) -> bytes:
        """Serialize the whole dataset."""

    def __len__(self) -> int:
        """Number of quads."""


class OxigraphStore:
    """Embedded Oxigraph, in memory (``path=None``) or in an on-disk folder."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._store = Store(str(path)) if path else Store()

    @classmethod
    def read_only(cls, path: Path) -> "OxigraphStore":
        """Open an on-disk store that no other process writes to (a snapshot) for reading only."""
        store = cls.__new__(cls)
        store.path, store._store = path, Store.read_only(str(path))
        return store

    def snapshot(self, target: Path) -> None:
        """Write a consistent copy to the new folder ``target`` (hard links when the store is on the same disk)."""
        if self.path:
            self._store.backup(str(target))
            return
        copy = Store(str(target))
        copy.bulk_extend(self._store.quads_for_pattern(None, None, None, None))
        copy.flush()
        del copy

    def load(self, quads: Iterable[Quad]) -> None:
        """Add quads in one transaction."""
        self._store.extend(quads)

    def replace(self, removed: Iterable[Quad], added: Iterable[Quad]) -> None:
        """Remove and add quads in one update (one transaction)."""
        self._store.update(diff_update(list(removed), list(added)))

    def bulk_load(self, stream: BinaryIO, fmt: RdfFormat, graph: str) -> None:
        """Stream triples into ``graph`` with Oxigraph's bulk loader (fast, memory-bounded, not one transaction)."""
        self._store.bulk_load(input=stream, format=fmt, to_graph=NamedNode(graph))

    def query(self, sparql: str, *, default_graph: list[str] | None = None,
              named_graphs: list[str] | None = None) -> QueryResult:
        """Run a query; default graph = union of all graphs unless ``default_graph`` is given."""
        if default_graph:
            return self._store.query(sparql, default_graph=[NamedNode(g) for g in default_graph],
                                     named_graphs=[NamedNode(g) for g in named_graphs] if named_graphs else None)
        return self._store.query(sparql, use_default_graph_as_union=True,
                                 named_graphs=[NamedNode(g) for g in named_graphs] if named_graphs else None)

    def update(self, sparql: str) -> None:
        """Run a SPARQL update (atomic in Oxigraph)."""
        self._store.update(sparql)

    def dump(self, fmt: RdfFormat) -> bytes:
        """Serialize all quads."""
        return self._store.dump(format=fmt) or b""

    def flush(self) -> None:
        """Make on-disk writes durable."""
        if self.path:
            self._store.flush()

    def __len__(self) -> int:
        return len(self._store)


class RemoteStoreError(OSError):
    """The remote SPARQL server refused a request or could not be reached."""


class RemoteStore:
    """A SPARQL 1.1 server reached over HTTP: Query and Update protocols only, so any conformant server works.

    The server must read its default graph as the union of all named graphs (Oxigraph: ``--union-default-graph``;
    Virtuoso and Fuseki have the same option), which is the one dialect setting poems-kg relies on.
    """

    def __init__(self, query_url: str, update_url: str | None = None, auth: tuple[str, str] | None = None,
                 timeout_s: float = 60.0, graph_store_url: str | None = None) -> None:
        self.query_url, self.update_url = query_url, update_url or query_url
        self.graph_store_url = graph_store_url
        self.client = httpx.Client(auth=auth, timeout=timeout_s)

    @classmethod
    def from_settings(cls, settings: Settings) -> "RemoteStore":
        """The server the settings name (``POEMS_KG_SPARQL_*``)."""
        assert settings.sparql_endpoint, "POEMS_KG_SPARQL_ENDPOINT is not set"
        auth = (settings.sparql_user, settings.sparql_password or "") if settings.sparql_user else None
        return cls(settings.sparql_endpoint, settings.sparql_update_endpoint, auth,
                   graph_store_url=settings.sparql_graph_store_endpoint)

    def _post(self, url: str, data: dict[str, str | list[str]], accept: str) -> httpx.Response:
        try:
            response = self.client.post(url, data=data, headers={"Accept": accept})
        except httpx.HTTPError as exc:
            raise RemoteStoreError(f"{url}: {exc}") from None
        if response.status_code == 400:
            raise SyntaxError(response.text.strip()[:500])
        if not response.is_success:
            raise RemoteStoreError(f"{url} answered {response.status_code}: {response.text.strip()[:300]}")
        return response

    def query(self, sparql: str, *, default_graph: list[str] | None = None,
              named_graphs: list[str] | None = None) -> QueryResult:
        """Run a query on the server; SELECT/ASK come back as pyoxigraph results, CONSTRUCT/DESCRIBE as triples."""
        data: dict[str, str | list[str]] = {"query": sparql}
        if default_graph:
            data["default-graph-uri"] = default_graph
        if named_graphs:
            data["named-graph-uri"] = named_graphs
        response = self._post(self.query_url, data, "application/sparql-results+json, application/n-triples;q=0.9")
        if response.headers.get("content-type", "").startswith("application/n-triples"):
            return [q.triple for q in parse(response.content, format=RdfFormat.N_TRIPLES)]
        return parse_query_results(response.content, format=QueryResultsFormat.JSON)

    def update(self, sparql: str) -> None:
        """Run a SPARQL update on the server."""
        self._post(self.update_url, {"update": sparql}, "*/*")

    def load(self, quads: Iterable[Quad]) -> None:
        """Add quads with one update request (one transaction on the server)."""
        self.replace([], quads)

    def replace(self, removed: Iterable[Quad], added: Iterable[Quad]) -> None:
        """Remove and add quads with one update request (one transaction on the server)."""
        self.update(diff_update(list(removed), list(added)))

    def append_to_graph(self, triples: list[Triple], graph: str) -> None:
        """Add triples to one named graph: a Graph Store Protocol POST when configured (fast), else ``INSERT DATA``."""
        if not self.graph_store_url:
            self.load(Quad(t.subject, t.predicate, t.object, NamedNode(graph)) for t in triples)
            return
        try:
            response = self.client.post(self.graph_store_url, params={"graph": graph},
                                        content=serialize(triples, format=RdfFormat.N_TRIPLES) or b"",
                                        headers={"Content-Type": "application/n-triples"})
        except httpx.HTTPError as exc:
            raise RemoteStoreError(f"{self.graph_store_url}: {exc}") from None
        if not response.is_success:
            raise RemoteStoreError(f"{self.graph_store_url} answered {response.status_code}: {response.text.strip()[:300]}")

    def dump(self, fmt: RdfFormat) -> bytes:
        """Every quad of every named graph, serialized."""
        rows = self.query("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        assert isinstance(rows, QuerySolutions)
        quads = [Quad(r["s"], r["p"], r["o"], r["g"]) for r in rows]  # type: ignore[arg-type]
        return serialize(quads, format=fmt) or b""

    def __len__(self) -> int:
        rows = select_rows(self.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"))
        return int(rows[0]["n"])


def diff_update(removed: list[Quad], added: list[Quad]) -> str:
    """One SPARQL update request that deletes ``removed`` and inserts ``added``."""
    parts = [f"DELETE DATA {{\n{data_block(removed)}\n}}"] if removed else []
    parts += [f"INSERT DATA {{\n{data_block(added)}\n}}"] if added else []
    return " ;\n".join(parts)


def data_block(quads: Iterable[Quad]) -> str:
    """The body of an ``INSERT DATA`` or ``DELETE DATA`` block holding ``quads``, one ``GRAPH`` block per graph."""
    by_graph: dict[NamedNode | DefaultGraph, list[Triple]] = defaultdict(list)
    for quad in quads:
        by_graph[quad.graph_name].append(quad.triple)  # type: ignore[index]
    blocks = []
    for graph, triples in by_graph.items():
        body = (serialize(triples, format=RdfFormat.N_TRIPLES) or b"").decode()
        blocks.append(body if isinstance(graph, DefaultGraph) else f"GRAPH {graph} {{\n{body}}}")
    return "\n".join(blocks)


def boolean(lexical: str) -> bool:
    """The value of an ``xsd:boolean`` literal, in either lexical form (``true`` or ``1``)."""
    return lexical in ("true", "1")


def select_rows(result: QueryResult) -> list[dict[str, str]]:
    """SELECT results as plain dicts of variable name to lexical value."""
    assert isinstance(result, QuerySolutions), "expected a SELECT query"
    names = [v.value for v in result.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in result]


__all__ = ["KGStore", "OxigraphStore", "QueryResult", "QueryResultsFormat", "RemoteStore", "RemoteStoreError", "select_rows"]
