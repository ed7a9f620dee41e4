"""What is derived from the whole store and kept until the next write: the dumps with their VoID statistics, the size.

The dumps are gzip-compressed files in every RDF dump format and the KGX files (``pipeline.kgx``); the size is the store's
number of quads.
"""

import gzip
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from pyoxigraph import RdfFormat, serialize
from starlette.datastructures import State

from kg.named_queries import run_query
from kg.namespaces import Namespaces
from kg.store import KGStore, OxigraphStore, remove_scratch, scratch_folder, select_rows
from pipeline import kgx

DUMP_FORMATS = {"dataset.trig.gz": (RdfFormat.TRIG, "application/trig"),
                "dataset.nq.gz": (RdfFormat.N_QUADS, "application/n-quads"),
                "dataset.jsonld.gz": (RdfFormat.JSON_LD, "application/ld+json")}
KGX_DUMPS = {f"kgx-{name}.gz": name for name in kgx.FILES}  # the KGX export's files, as dumps
JSON_LINES = "application/jsonl"


@dataclass(frozen=True)
class Dump:
    """One compressed dump file."""

    name: str
    path: Path
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Dumps:
    """The dumps of the store as it was when they were made, in every format, with what VoID says of them."""

    folder: Path
    files: dict[str, Dump]
    quads: int
    stats: dict[str, str]  # entities, classes, properties, claims
    linksets: list[dict[str, str]]  # space, predicate, links
    tables: list[dict[str, str]]  # source, title, license, rights, version, claims: subsets under their own licence


DUMPS_LOCK = threading.Lock()


def dumps(request: Request, store: KGStore) -> Dumps:
    """The dumps of the store, made on first use after start-up or a write, in a temporary folder.

    They hold poems-kg's own graphs; ontologies brought in with ``poems-kg import`` stay out (they are queryable, but
    not poems-kg's to re-publish under its license). Every format is written from one read of the store, and the
    VoID statistics are counted on that same read, so they describe exactly what the dumps hold.
    """
    with DUMPS_LOCK:
        current: Dumps | None = getattr(request.app.state, "dumps", None)
        if current is None:
            ns = Namespaces(request.app.state.settings.base_iri)
            quads = store.quads(without=ns.imports)
            folder = scratch_folder("poems-kg-dumps-", None)
            files = {}
            for name, (fmt, media_type) in DUMP_FORMATS.items():
                body = gzip.compress(serialize(quads, format=fmt) or b"", mtime=0)
                (folder / name).write_bytes(body)
                files[name] = Dump(name, folder / name, media_type, len(body), hashlib.sha256(body).hexdigest())
            snapshot = OxigraphStore()
            snapshot.load(quads)
            kgx.export(snapshot, ns, folder / "kgx")
            for name, written in KGX_DUMPS.items():
                body = gzip.compress((folder / "kgx" / written).read_bytes(), mtime=0)
                (folder / name).write_bytes(body)
                files[name] = Dump(name, folder / name, JSON_LINES, len(body), hashlib.sha256(body).hexdigest())
            current = request.app.state.dumps = Dumps(folder, files, len(snapshot),
                                                      select_rows(run_query(snapshot, ns, "void-stats"))[0],
                                                      select_rows(run_query(snapshot, ns, "void-linksets")),
                                                      select_rows(run_query(snapshot, ns, "void-table-sources")))
        return current


def store_size(state: State, store: KGStore) -> int:
    """The store's number of quads, imports included (a full scan, or a request to the server): counted once per write."""
    size: int | None = getattr(state, "size", None)
    if size is None:
        size = state.size = len(store)
    return size


def forget_derived(state: State) -> None:
    """Forget the dumps and the size (after a write, at shut-down), deleting the files; the next request counts anew."""
    with DUMPS_LOCK:
        old: Dumps | None = getattr(state, "dumps", None)
        state.dumps = state.size = None
    if old is not None:
        remove_scratch(old.folder)
