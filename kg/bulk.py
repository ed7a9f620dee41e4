"""Bulk import of large RDF files (an ontology such as MONDO or HPO) into a named graph, streamed in batches."""

import gzip
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from pyoxigraph import NamedNode, Quad, RdfFormat, parse

from kg.store import KGStore, select_rows

BATCH = 100_000  # quads per transaction: memory stays bounded whatever the file's size
GRAPH_SIZE = "SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"


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


def import_file(store: KGStore, path: Path, graph: str, progress: Callable[[int], None] = lambda _: None) -> int:
    """Stream ``path`` into the empty named graph ``graph``; returns the number of triples imported.

    Every triple goes into ``graph`` (named graphs in a dataset file are flattened into it). The import runs in
    batches; if the file turns out to be malformed, the graph is cleared again, so a failed import changes nothing.
    """
    try:
        target = NamedNode(graph)
    except ValueError as exc:
        raise BulkImportError(f"invalid graph IRI <{graph}>: {exc}") from None
    if int(select_rows(store.query(GRAPH_SIZE.format(graph=target.value)))[0]["n"]):
        raise BulkImportError(f"graph <{graph}> already holds data; import into a new graph or clear it first")
    count, batch = 0, []
    try:
        with _open(path) as (stream, raw):
            for quad in parse(stream, format=rdf_format(path)):
                batch.append(Quad(quad.subject, quad.predicate, quad.object, target))
                if len(batch) == BATCH:
                    store.load(batch)
                    count += len(batch)
                    batch.clear()
                    progress(raw.tell())
            store.load(batch)
            count += len(batch)
            progress(raw.tell())
    except (SyntaxError, OSError, EOFError) as exc:
        store.update(f"CLEAR SILENT GRAPH <{graph}>")
        raise BulkImportError(f"{path}: {exc}; nothing was imported") from None
    return count
