"""The store interface, the embedded Oxigraph store and a remote SPARQL 1.1 server behind the same interface."""

import contextlib
import copy
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import httpx
from pyoxigraph import (
    BlankNode,
    DefaultGraph,
    Literal,
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

from kg.limits import result_too_large
from kg.settings import Settings
from kg.sparql_text import mentions

QueryResult = QuerySolutions | QueryBoolean | QueryTriples | list[Triple]  # a remote CONSTRUCT answers a list


class KGStore(Protocol):
    """What the API and CLI need from a store, whatever the backend."""

    lateral: bool  # the engine runs SPARQL 1.2's LATERAL (the named queries use it; kg.sparql_text.without_lateral)

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

    def quads(self, *, without: str) -> list[Quad]:
        """Every quad but those of the named graphs whose IRI starts with ``without``."""

    def __len__(self) -> int:
        """Number of quads."""


class OxigraphStore:
    """Embedded Oxigraph, in memory (``path=None``) or in an on-disk folder.

    A write that fails on disk (the disk full, an I/O error) raises ``EmbeddedStoreError`` and writes nothing. The
    storage engine (RocksDB) refuses every later write until the store is opened again, so the store is reopened:
    read-only at once (reads go on), writable as soon as that succeeds (at the latest before the next write, which is
    refused again while the disk still fails).
    """

    lateral = True

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._store = Store(str(path)) if path else Store()
        self._read_only = self._stopped = False

    @classmethod
    def read_only(cls, path: Path) -> "OxigraphStore":
        """Open an on-disk store that no other process writes to (a snapshot) for reading only."""
        store = cls.__new__(cls)
        store.path, store._store, store._read_only, store._stopped = path, Store.read_only(str(path)), True, False
        return store

    def snapshot(self, target: Path) -> None:
        """Write a consistent copy to the new folder ``target`` (hard links when the store is on the same disk)."""
        if self.path and self._read_only:  # a snapshot itself: no process writes its files, so they may be shared
            linked_copy(self.path, target)
            return
        if self.path:
            self._store.backup(str(target))
            return
        copy = Store(str(target))
        copy.bulk_extend(self._store.quads_for_pattern(None, None, None, None))
        copy.flush()
        del copy

    def _write(self, action: Callable[[Store], object]) -> None:
        """Run a write; on disk, a failure becomes ``EmbeddedStoreError`` and the stopped store is reopened."""
        if self.path is None or self._read_only:
            action(self._store)
            return
        if self._stopped:
            self._reopen()
        try:
            action(self._store)
        except OSError as exc:
            self._store, self._stopped = Store.read_only(str(self.path)), True  # drops the stopped handle
            with contextlib.suppress(EmbeddedStoreError):
                self._reopen()  # else tried again before the next write
            raise _disk_error(exc) from None

    def _reopen(self) -> None:
        """Open the on-disk store for writing again (the read-only handle serves reads until then)."""
        try:
            self._store, self._stopped = Store(str(self.path)), False
        except OSError as exc:
            raise _disk_error(exc) from None

    def load(self, quads: Iterable[Quad]) -> None:
        """Add quads in one transaction."""
        self._write(lambda store: store.extend(quads))

    def replace(self, removed: Iterable[Quad], added: Iterable[Quad]) -> None:
        """Remove and add quads in one update (one transaction)."""
        update = diff_update(list(removed), list(added))
        self._write(lambda store: store.update(update))

    def discard(self, quads: Iterable[Quad]) -> None:
        """Remove quads, blank nodes included, one at a time (not one transaction: for trial copies in memory)."""
        def remove(store: Store) -> None:
            for quad in quads:
                store.remove(quad)

        self._write(remove)

    def bulk_load(self, stream: BinaryIO, fmt: RdfFormat, graph: str) -> None:
        """Stream triples into ``graph`` with Oxigraph's bulk loader (fast, memory-bounded, not one transaction)."""
        self._write(lambda store: store.bulk_load(input=stream, format=fmt, to_graph=NamedNode(graph)))

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
        self._write(lambda store: store.update(sparql))

    def dump(self, fmt: RdfFormat) -> bytes:
        """Serialize all quads."""
        return self._store.dump(format=fmt) or b""

    def quads(self, *, without: str) -> list[Quad]:
        """The quads of the default graph and of every named graph whose IRI does not start with ``without``."""
        kept = [DefaultGraph(), *(g for g in self._store.named_graphs() if not g.value.startswith(without))]
        return [q for g in kept for q in self._store.quads_for_pattern(None, None, None, g)]

    def flush(self) -> None:
        """Make on-disk writes durable."""
        if self.path:
            self._write(lambda store: store.flush())

    def __len__(self) -> int:
        return len(self._store)


def linked_copy(folder: Path, target: Path) -> None:
    """Copy the files of ``folder``, which no process writes, into the new folder ``target`` as hard links."""
    target.mkdir()
    for file in folder.iterdir():
        try:
            os.link(file, target / file.name)
        except OSError:  # another file system, or one without hard links
            shutil.copy2(file, target / file.name)


def scratch_folder(prefix: str, store_path: Path | None) -> Path:
    """A new folder for copies of the store at ``store_path``: beside it, else in the temporary folder.

    Beside it, a copy is hard links to the store's files; a checkpoint onto another file system (such as a ``/tmp`` in
    memory) copies the whole store. In the temporary folder: a store in memory, or no folder can be made beside it.
    The folder is locked (``flock``) for as long as this process lives: the folders of the same prefix there whose lock
    is free were left by a process killed before it could delete them (SIGKILL, a power cut), and are deleted first
    (a copy left behind keeps the store's older files on disk). ``remove_scratch`` deletes it.
    """
    if store_path is not None:
        with contextlib.suppress(OSError):
            return _locked_folder(prefix, store_path.resolve().parent)
    return _locked_folder(prefix, Path(tempfile.gettempdir()))


_LOCKS: dict[Path, int] = {}  # this process's scratch folders -> the descriptor holding each one's lock
OWNER = "owner.lock"  # in a scratch folder: locked by the process that made it, for as long as it lives


def _locked_folder(prefix: str, parent: Path) -> Path:
    """A new folder ``parent/prefix...`` locked by this process, the unlocked ones of that prefix deleted first."""
    for left in parent.glob(f"{prefix}*/{OWNER}"):  # folders without one (older versions') are left alone
        with contextlib.suppress(OSError):
            _delete_unlocked(left.parent)
    making = Path(tempfile.mkdtemp(prefix=f".{prefix}", dir=parent))  # renamed once locked: never seen unlocked
    lock = os.open(making / OWNER, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    folder = making.with_name(making.name.removeprefix("."))
    making.rename(folder)
    _LOCKS[folder] = lock
    return folder


def _delete_unlocked(folder: Path) -> None:
    """Delete ``folder`` unless a live process holds its lock (then ``BlockingIOError``)."""
    lock = os.open(folder / OWNER, os.O_RDWR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        os.close(lock)


def remove_scratch(folder: Path) -> None:
    """Delete a folder made by ``scratch_folder``, and release its lock."""
    shutil.rmtree(folder, ignore_errors=True)
    lock = _LOCKS.pop(folder, None)
    if lock is not None:
        os.close(lock)


class StoreError(OSError):
    """A store that could not carry out a request; ``status`` is what poems-kg answers its own client."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class EmbeddedStoreError(StoreError):
    """A write the embedded store could not make: nothing of it was written.

    ``status``: 507 when the disk is full, 503 for any other failure of the disk.
    """


def _disk_error(exc: OSError) -> EmbeddedStoreError:
    """What a failure of the embedded store's disk is answered with: 507 when the disk is full, else 503."""
    if "No space left" in str(exc):
        return EmbeddedStoreError(f"the disk of the store is full; nothing was written ({exc})", 507)
    return EmbeddedStoreError(f"the store could not write to its disk; nothing was written ({exc})", 503)


class RemoteStoreError(StoreError):
    """The remote SPARQL server refused a request or could not be reached.

    ``status`` is what poems-kg answers its own client: 503 when the server cannot be reached, 504 when it did not
    answer in time, 502 when it answered with an error or broke the connection.
    """

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(f"the SPARQL server behind poems-kg failed: {message}", status)

    @classmethod
    def of(cls, url: str, exc: httpx.HTTPError) -> "RemoteStoreError":
        """The error for a failed request to ``url``."""
        status = 504 if isinstance(exc, httpx.TimeoutException) else 503 if isinstance(exc, httpx.ConnectError) else 502
        return cls(f"{url}: {exc or type(exc).__name__}", status)


# Virtuoso keeps its own metadata as RDF graphs in every dataset; poems-kg's counts and dumps leave them out.
VIRTUOSO_SYSTEM_GRAPHS = ("http://www.openlinksw.com/schemas/virtrdf#", "http://www.w3.org/ns/ldp#",
                          "http://localuriqaserver/sparql")
VIRTUOSO_INSERT_BATCH = 10_000
XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
GRAPH_FORMS = re.compile(r"\b(CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)
# One statement of a named graph (IRIs only, so that it can be asked back), and whether the default graph has it.
SOME_NAMED_STATEMENT = "SELECT ?s ?p ?o WHERE {{ GRAPH ?g {{ ?s ?p ?o FILTER(isIRI(?s) && isIRI(?o)) }} {ours} }} LIMIT 1"
IN_DEFAULT_GRAPH = "ASK {{ <{s}> <{p}> <{o}> }}"


class RemoteStore:
    """A SPARQL 1.1 server reached over HTTP: Query and Update protocols only, so any conformant server works.

    The server must read its default graph as the union of all named graphs (Oxigraph: ``--union-default-graph``;
    Virtuoso does by default). What differs on Virtuoso (``dialect="virtuoso"``) is handled here and only here: a
    CONSTRUCT asks for N-Triples alone (it would answer a table), an ASK answered as a one-cell table becomes a
    boolean, its system graphs stay out of counts and dumps, and long or blank-node insertions are split into
    statements it accepts (``diff_update``).
    """

    lateral = False  # SPARQL 1.1: any conformant server

    def __init__(self, query_url: str, update_url: str | None = None, auth: tuple[str, str] | None = None,
                 timeout_s: float = 60.0, graph_store_url: str | None = None, dialect: str = "standard") -> None:
        self.query_url, self.update_url = query_url, update_url or query_url
        self.graph_store_url, self.dialect = graph_store_url, dialect
        self.client = httpx.Client(auth=auth, timeout=timeout_s)
        self.max_answer_bytes: int | None = None  # see capped()

    @classmethod
    def from_settings(cls, settings: Settings) -> "RemoteStore":
        """The server the settings name (``POEMS_KG_SPARQL_*``)."""
        assert settings.sparql_endpoint, "POEMS_KG_SPARQL_ENDPOINT is not set"
        auth = (settings.sparql_user, settings.sparql_password or "") if settings.sparql_user else None
        return cls(settings.sparql_endpoint, settings.sparql_update_endpoint, auth,
                   graph_store_url=settings.sparql_graph_store_endpoint, dialect=settings.sparql_dialect)

    def _post(self, url: str, data: dict[str, str | list[str]], accept: str) -> tuple[str, bytes]:
        """The media type and body of the server's answer, read as it streams in and refused past ``max_answer_bytes``."""
        try:
            with self.client.stream("POST", url, data=data, headers={"Accept": accept}) as response:
                if not response.is_success:
                    text = response.read().decode(errors="replace").strip()
                    if response.status_code == 400:
                        raise SyntaxError(text[:500])
                    raise RemoteStoreError(f"{url} answered {response.status_code}: {text[:300]}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if self.max_answer_bytes is not None and len(body) > self.max_answer_bytes:
                        raise StoreError(result_too_large(self.max_answer_bytes), 413)
                return response.headers.get("content-type", ""), bytes(body)
        except httpx.HTTPError as exc:
            raise RemoteStoreError.of(url, exc) from None

    def capped(self, max_answer_bytes: int) -> "RemoteStore":
        """The same server, through the same connections, refusing any answer larger than ``max_answer_bytes``."""
        view = copy.copy(self)
        view.max_answer_bytes = max_answer_bytes
        return view

    def query(self, sparql: str, *, default_graph: list[str] | None = None,
              named_graphs: list[str] | None = None) -> QueryResult:
        """Run a query on the server; SELECT/ASK come back as pyoxigraph results, CONSTRUCT/DESCRIBE as triples."""
        data: dict[str, str | list[str]] = {"query": sparql}
        if default_graph:
            data["default-graph-uri"] = default_graph
        if named_graphs:
            data["named-graph-uri"] = named_graphs
        virtuoso = self.dialect == "virtuoso"
        accept = "application/sparql-results+json, application/n-triples;q=0.9"
        if virtuoso and mentions(GRAPH_FORMS, sparql):
            accept = "application/n-triples"
        media_type, content = self._post(self.query_url, data, accept)
        if media_type.startswith("application/n-triples"):
            triples = [q.triple for q in parse(content, format=RdfFormat.N_TRIPLES)]
            return [Triple(t.subject, t.predicate, _canonical(t.object)) for t in triples] if virtuoso else triples
        body = _virtuoso_results(content) if virtuoso else content
        result = parse_query_results(body, format=QueryResultsFormat.JSON)
        if virtuoso and isinstance(result, QuerySolutions) and [v.value for v in result.variables] == ["__ASK_RETVAL"]:
            answer = any(boolean(row[0].value) for row in result)  # type: ignore[union-attr]
            return parse_query_results(b'{"head": {}, "boolean": %s}' % str(answer).lower().encode(),
                                       format=QueryResultsFormat.JSON)
        return result

    def update(self, sparql: str) -> None:
        """Run a SPARQL update on the server."""
        self._post(self.update_url, {"update": sparql}, "*/*")

    def load(self, quads: Iterable[Quad]) -> None:
        """Add quads with one update request (one transaction on the server)."""
        self.replace([], quads)

    def replace(self, removed: Iterable[Quad], added: Iterable[Quad]) -> None:
        """Remove and add quads with one update request (one transaction on the server)."""
        self.update(diff_update(list(removed), list(added), virtuoso=self.dialect == "virtuoso"))

    def append_to_graph(self, triples: list[Triple], graph: str) -> None:
        """Add triples to one named graph: a Graph Store Protocol POST when configured (fast), else ``INSERT DATA``.

        Virtuoso refuses an update request over 10 MB, so for it ``INSERT DATA`` goes in requests of
        ``VIRTUOSO_INSERT_BATCH`` triples (about 1.3 MB for a typical ontology).
        """
        if not self.graph_store_url:
            batch = VIRTUOSO_INSERT_BATCH if self.dialect == "virtuoso" else max(len(triples), 1)
            for i in range(0, len(triples), batch):
                self.load(Quad(t.subject, t.predicate, t.object, NamedNode(graph)) for t in triples[i:i + batch])
            return
        try:
            response = self.client.post(self.graph_store_url, params={"graph": graph},
                                        content=serialize(triples, format=RdfFormat.N_TRIPLES) or b"",
                                        headers={"Content-Type": "application/n-triples"})
        except httpx.HTTPError as exc:
            raise RemoteStoreError.of(self.graph_store_url, exc) from None
        if not response.is_success:
            raise RemoteStoreError(f"{self.graph_store_url} answered {response.status_code}: {response.text.strip()[:300]}")

    def check_union_default_graph(self) -> None:
        """Fail unless the server reads its default graph as the union of its named graphs, as every query here assumes.

        Two small queries: a statement of some named graph, then whether a query without ``GRAPH`` sees it.
        """
        rows = select_rows(self.query(SOME_NAMED_STATEMENT.format(ours=self._ours())))
        if rows and not self.query(IN_DEFAULT_GRAPH.format(**rows[0])):
            raise RemoteStoreError(
                f"{self.query_url} does not read its default graph as the union of its named graphs, so no query would "
                "see the knowledge graph; configure the server so (Oxigraph: serve --union-default-graph; Jena Fuseki: "
                "tdb2:unionDefaultGraph true on the dataset)")

    def _ours(self) -> str:
        """A filter on ``?g`` that leaves out the server's own system graphs."""
        if self.dialect != "virtuoso":
            return ""
        return "FILTER(?g NOT IN (" + ", ".join(f"<{g}>" for g in VIRTUOSO_SYSTEM_GRAPHS) + "))"

    def dump(self, fmt: RdfFormat) -> bytes:
        """Every quad of every named graph, serialized."""
        return serialize(self.quads(), format=fmt) or b""

    def quads(self, *, without: str | None = None) -> list[Quad]:
        """Every quad of every named graph but those whose IRI starts with ``without`` (and the server's own)."""
        leave_out = f"FILTER(!STRSTARTS(STR(?g), {json.dumps(without)}))" if without else ""
        rows = self.query(f"SELECT ?s ?p ?o ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {self._ours()} {leave_out} }}")
        assert isinstance(rows, QuerySolutions)
        return [Quad(r["s"], r["p"], r["o"], r["g"]) for r in rows]  # type: ignore[arg-type]

    def __len__(self) -> int:
        rows = select_rows(self.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {self._ours()} }}"))
        return int(rows[0]["n"])


def _virtuoso_results(body: bytes) -> bytes:
    """Virtuoso's JSON results made standard: valid blank node labels, canonical booleans.

    It labels blank nodes ``nodeID://b10006`` (here ``b10006``) and answers booleans as ``1`` and ``0``.
    """
    data = json.loads(body)
    for row in data.get("results", {}).get("bindings", []):
        for term in row.values():
            if term.get("type") == "bnode":
                term["value"] = re.sub(r"[^A-Za-z0-9]", "", term["value"].removeprefix("nodeID://"))
            elif term.get("datatype") == XSD_BOOLEAN:
                term["value"] = "true" if term["value"] in ("1", "true") else "false"
    return json.dumps(data).encode()


def _canonical(term: Any) -> Any:
    """A Virtuoso boolean (``"1"^^xsd:boolean``) in its canonical form; any other term as it is."""
    if isinstance(term, Literal) and term.datatype.value == XSD_BOOLEAN:
        return Literal("true" if term.value in ("1", "true") else "false", datatype=term.datatype)
    return term


def diff_update(removed: list[Quad], added: list[Quad], *, virtuoso: bool = False) -> str:
    """One SPARQL update request that deletes ``removed`` and inserts ``added``.

    Virtuoso turns each statement into SQL of bounded length and refuses blank nodes in ``INSERT DATA``: for it the
    data go in statements of at most 500 quads, and quads with blank nodes in ``INSERT {...} WHERE {}`` statements,
    the quads that share a blank node in the same statement (each statement mints its own blank nodes).
    """
    if not virtuoso:
        parts = [f"DELETE DATA {{\n{data_block(removed)}\n}}"] if removed else []
        parts += [f"INSERT DATA {{\n{data_block(added)}\n}}"] if added else []
        return " ;\n".join(parts)
    plain = [q for q in added if not _blank(q)]
    parts = [f"DELETE DATA {{\n{data_block(removed[i:i + 500])}\n}}" for i in range(0, len(removed), 500)]
    parts += [f"INSERT DATA {{\n{data_block(plain[i:i + 500])}\n}}" for i in range(0, len(plain), 500)]
    parts += [f"INSERT {{\n{data_block(chunk)}\n}} WHERE {{}}" for chunk in _blank_groups([q for q in added if _blank(q)])]
    return " ;\n".join(parts)


def _blank(quad: Quad) -> bool:
    return isinstance(quad.subject, BlankNode) or isinstance(quad.object, BlankNode)


def _blank_groups(quads: list[Quad], size: int = 40) -> list[list[Quad]]:
    """Quads that share blank nodes, grouped together, packed into chunks of about ``size`` quads."""
    parent: dict[BlankNode, BlankNode] = {}

    def root(node: BlankNode) -> BlankNode:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    for q in quads:
        nodes = [t for t in (q.subject, q.object) if isinstance(t, BlankNode)]
        for other in nodes[1:]:
            parent[root(other)] = root(nodes[0])
    groups: dict[BlankNode, list[Quad]] = defaultdict(list)
    for q in quads:
        groups[root(next(t for t in (q.subject, q.object) if isinstance(t, BlankNode)))].append(q)
    chunks: list[list[Quad]] = [[]]
    for group in groups.values():
        if chunks[-1] and len(chunks[-1]) + len(group) > size:
            chunks.append([])
        chunks[-1].extend(group)
    return [c for c in chunks if c]


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
    return [{n: term.value for n, term in zip(names, row, strict=True) if term is not None} for row in result]  # by position: faster


__all__ = ["KGStore", "OxigraphStore", "QueryResult", "QueryResultsFormat", "RemoteStore", "RemoteStoreError", "select_rows"]
