"""The store interface and its embedded Oxigraph implementation."""

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from pyoxigraph import (
    NamedNode,
    Quad,
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Store,
)

QueryResult = QuerySolutions | QueryBoolean | QueryTriples


class KGStore(Protocol):
    """What the API and CLI need from a store, whatever the backend."""

    def load(self, quads: Iterable[Quad]) -> None:
        """Add quads atomically: all or nothing."""

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


def select_rows(result: QueryResult) -> list[dict[str, str]]:
    """SELECT results as plain dicts of variable name to lexical value."""
    assert isinstance(result, QuerySolutions), "expected a SELECT query"
    names = [v.value for v in result.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in result]


__all__ = ["KGStore", "OxigraphStore", "QueryResult", "QueryResultsFormat", "select_rows"]
