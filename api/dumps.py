"""The dumps of the dataset: gzip-compressed files in every dump format, made once and again after each write."""

import gzip
import hashlib
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from pyoxigraph import RdfFormat, parse, serialize
from starlette.datastructures import State

from kg.namespaces import Namespaces
from kg.store import KGStore

DUMP_FORMATS = {"dataset.trig.gz": (RdfFormat.TRIG, "application/trig"),
                "dataset.nq.gz": (RdfFormat.N_QUADS, "application/n-quads"),
                "dataset.jsonld.gz": (RdfFormat.JSON_LD, "application/ld+json")}


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
    """The dumps of the store as it was when they were made, in every format, and the number of quads they hold."""

    folder: Path
    files: dict[str, Dump]
    quads: int


DUMPS_LOCK = threading.Lock()


def dumps(request: Request, store: KGStore) -> Dumps:
    """The dumps of the store, made on first use after start-up or a write, in a temporary folder.

    They hold poems-kg's own graphs; ontologies brought in with ``poems-kg import`` stay out (they are queryable, but
    not poems-kg's to re-publish under its license). Every format is written from one read of the store.
    """
    with DUMPS_LOCK:
        current: Dumps | None = getattr(request.app.state, "dumps", None)
        if current is None:
            ns = Namespaces(request.app.state.settings.base_iri)
            quads = list(parse(store.dump(RdfFormat.N_QUADS, without=ns.imports), format=RdfFormat.N_QUADS))
            folder = Path(tempfile.mkdtemp(prefix="poems-kg-dumps-"))
            files = {}
            for name, (fmt, media_type) in DUMP_FORMATS.items():
                path = folder / name
                path.write_bytes(gzip.compress(serialize(quads, format=fmt) or b"", mtime=0))
                files[name] = Dump(name, path, media_type, path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())
            current = request.app.state.dumps = Dumps(folder, files, len(quads))
        return current


def forget_dumps(state: State) -> None:
    """Delete the dumps (after a write, at shut-down); the next request makes new ones."""
    with DUMPS_LOCK:
        old: Dumps | None = getattr(state, "dumps", None)
        state.dumps = None
    if old is not None:
        shutil.rmtree(old.folder, ignore_errors=True)
