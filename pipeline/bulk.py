"""Bulk import of large RDF files (an ontology such as MONDO or HPO) into a named graph, streamed in batches.

An import is not one transaction (a file may be larger than memory), so it is journalled in the graph
``<base>graph/import/`` (the imports' own prefix: like the imports, it is not republished in dumps): a
``prov:Activity`` that ``prov:generated`` the graph, with ``prov:startedAtTime`` written before the first triple and
``prov:endedAtTime`` after the last. An import that has no end (its process was killed, the machine stopped) is undone
by ``recover``, which the service runs when it opens the store and every import runs first: the graph is then wholly
loaded or absent.
"""

import datetime as dt
import gzip
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, Triple, parse

from kg.namespaces import Namespaces
from kg.rdf_input import PROLOG_BYTES, InputLimitError, check_xml_entities, is_xml
from kg.settings import Settings, get_settings
from kg.store import KGStore, OxigraphStore, RemoteStore, select_rows

LOG = logging.getLogger("poems_kg")
PROV = "http://www.w3.org/ns/prov#"

BATCH = 100_000  # quads per transaction: memory stays bounded whatever the file's size
GRAPH_SIZE = "SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
LONG_LITERAL = "SELECT ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o FILTER(isLITERAL(?o) && STRLEN(?o) > {limit}) }} }} LIMIT 1"
UNFINISHED = ("PREFIX prov: <http://www.w3.org/ns/prov#> SELECT ?activity ?graph WHERE {{ GRAPH <{journal}> {{ "
              "?activity prov:generated ?graph ; prov:startedAtTime ?start FILTER NOT EXISTS {{ ?activity prov:endedAtTime ?end }} }} }}")
UNDO = "CLEAR SILENT GRAPH <{graph}> ; DELETE WHERE {{ GRAPH <{journal}> {{ <{activity}> ?p ?o }} }}"


class BulkImportError(Exception):
    """A file that cannot be imported; the target graph is left as it was (empty)."""


def rdf_format(path: Path) -> RdfFormat:
    """The RDF format from the file name (``.owl`` is RDF/XML; a ``.gz`` suffix is looked through)."""
    name = path.name.removesuffix(".gz")
    extension = name.rsplit(".", 1)[-1].lower()
    fmt = RdfFormat.RDF_XML if extension == "owl" else RdfFormat.from_extension(extension)
    if fmt is None:
        raise BulkImportError(f"{path}: unknown RDF format '.{extension}' (use .owl, .rdf, .ttl, .nt, .nq, .trig, .jsonld)")
    return fmt


@contextmanager
def _open(path: Path) -> Iterator[tuple[BinaryIO, BinaryIO]]:
    """The stream to parse and the raw file under it, whose position says how far the import is."""
    with path.open("rb") as raw:
        yield (gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw), raw  # type: ignore[misc]


def recover(store: KGStore, ns: Namespaces) -> list[str]:
    """Undo every import the journal shows started and never ended (the graph cleared); the graphs undone."""
    journal = ns.imports
    undone = []
    for row in select_rows(store.query(UNFINISHED.format(journal=journal))):
        store.update(UNDO.format(graph=row["graph"], journal=journal, activity=row["activity"]))
        LOG.warning("an import into <%s> did not finish; its graph was cleared: import the file again", row["graph"])
        undone.append(row["graph"])
    return undone


def _journal(store: KGStore, ns: Namespaces, activity: NamedNode, *facts: tuple[str, NamedNode | Literal]) -> None:
    journal = NamedNode(ns.imports)
    store.load(Quad(activity, NamedNode(PROV + name), value, journal) for name, value in facts)


def _now() -> Literal:
    return Literal(dt.datetime.now(dt.UTC).isoformat(), datatype=NamedNode("http://www.w3.org/2001/XMLSchema#dateTime"))


def import_file(store: KGStore, path: Path, graph: str, progress: Callable[[int], None] = lambda _: None,
                limits: Settings | None = None) -> int:
    """Stream ``path`` into the empty named graph ``graph``; returns the number of triples it then holds.

    Every triple goes into ``graph`` (named graphs in a dataset file are flattened into it). Triple formats go through
    Oxigraph's bulk loader on the embedded store, everything else in batches of ``BATCH``; if the file turns out to be
    malformed, the graph is cleared again, so a failed import changes nothing, and an import that is killed is undone
    by the next ``recover``. ``limits`` (default: the settings) bound what RDF/XML entities expand to, checked before
    parsing, and the length of literals, checked after loading.
    """
    limits = limits or get_settings()
    ns = Namespaces(limits.base_iri)
    try:
        target = NamedNode(graph)
    except ValueError as exc:
        raise BulkImportError(f"invalid graph IRI <{graph}>: {exc}") from None
    recover(store, ns)
    if int(select_rows(store.query(GRAPH_SIZE.format(graph=target.value)))[0]["n"]):
        raise BulkImportError(f"graph <{graph}> already holds data; import into a new graph or clear it first")
    activity = NamedNode(f"{ns.base}import/{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%S%fZ')}")
    try:
        fmt = rdf_format(path)
        if is_xml(fmt):
            with _open(path) as (stream, _):
                check_xml_entities(stream.read(PROLOG_BYTES), iter(lambda: stream.read(1 << 20), b""),
                                   limits.max_xml_expansion_bytes)
        _journal(store, ns, activity, ("generated", target), ("startedAtTime", _now()))
        with _open(path) as (stream, raw):
            if isinstance(store, OxigraphStore) and not fmt.supports_datasets:
                _with_progress(lambda: store.bulk_load(stream, fmt, target.value), raw, progress)
            else:
                _in_batches(store, stream, fmt, target, raw, progress)
        if select_rows(store.query(LONG_LITERAL.format(graph=target.value, limit=limits.max_literal_chars))):
            raise InputLimitError(f"a literal longer than the limit of {limits.max_literal_chars} characters "
                                  "(setting POEMS_KG_MAX_LITERAL_CHARS)")
        _journal(store, ns, activity, ("endedAtTime", _now()))
    except (SyntaxError, OSError, EOFError, InputLimitError) as exc:
        try:
            recover(store, ns)
        except OSError as again:  # the store cannot write now: the next import or start of the service undoes it
            LOG.warning("the unfinished import into <%s> is undone later: %s", graph, again)
        raise BulkImportError(f"{path}: {exc}; nothing was imported") from None
    return int(select_rows(store.query(GRAPH_SIZE.format(graph=target.value)))[0]["n"])


def _with_progress(work: Callable[[], None], raw: BinaryIO, progress: Callable[[int], None]) -> None:
    """Run ``work`` while reporting how far into the file it has read, every 0.2 s and at the end."""
    done = threading.Event()

    def report() -> None:
        while not done.wait(0.2):
            progress(raw.tell())

    reporter = threading.Thread(target=report, daemon=True)
    reporter.start()
    try:
        work()
    finally:
        done.set()
        reporter.join()
    progress(raw.tell())


def _in_batches(store: KGStore, stream: BinaryIO, fmt: RdfFormat, target: NamedNode, raw: BinaryIO,
                progress: Callable[[int], None]) -> None:
    """Any backend, any format: parse and add ``BATCH`` triples per request or transaction, all into ``target``."""
    def flush(batch: list[Triple]) -> None:
        if isinstance(store, RemoteStore):
            store.append_to_graph(batch, target.value)
        else:
            store.load(Quad(t.subject, t.predicate, t.object, target) for t in batch)
        progress(raw.tell())

    batch: list[Triple] = []
    for quad in parse(stream, format=fmt):
        batch.append(quad.triple)
        if len(batch) == BATCH:
            flush(batch)
            batch = []
    flush(batch)
