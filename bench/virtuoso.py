"""Virtuoso open source (Debian package ``virtuoso-opensource-7-bin``) as a peer: a SPARQL server with a query time
limit. Used by the HTTP benchmark (read-only, bulk-loaded) and by ``make test-virtuoso`` (the remote backend's second
server)."""

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from pyoxigraph import Quad, RdfFormat, serialize

from bench.sparql import _port as free_port

INI = """[Database]
DatabaseFile = {folder}/virtuoso.db
ErrorLogFile = {folder}/virtuoso.log
LockFile = {folder}/virtuoso.lck
TransactionFile = {folder}/virtuoso.trx
xa_persistent_file = {folder}/virtuoso.pxa
TempStorage = TempDatabase
[TempDatabase]
DatabaseFile = {folder}/virtuoso-temp.db
TransactionFile = {folder}/virtuoso-temp.trx
[Parameters]
ServerPort = {sql_port}
DirsAllowed = ., {folder}
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}
[HTTPServer]
ServerPort = {http_port}
ServerRoot = {folder}
ServerThreads = 16
[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = {timeout_s}
"""


def install() -> None:
    """Install the Debian package when ``virtuoso-t`` is missing (needs root, as on the CI machine)."""
    if shutil.which("virtuoso-t") is None:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "virtuoso-opensource-7-bin"], check=True, capture_output=True,
                       env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"})


@contextmanager
def virtuoso(folder: Path, timeout_s: int = 60, writable: bool = False, quads: list[Quad] | None = None,
             buffers: int = 20000) -> Iterator[str]:
    """A Virtuoso server on free loopback ports, holding ``quads`` (bulk-loaded); yields its SPARQL URL.

    ``writable``: SPARQL Update granted to the anonymous account, as a deployment behind poems-kg would grant it to
    poems-kg's account. Otherwise the endpoint is read-only, as a public endpoint is. ``buffers``: 8 KiB pages of
    cache (Virtuoso's guide: about two thirds of the memory it may use).
    """
    install()
    folder.mkdir(parents=True, exist_ok=True)
    sql_port, http_port = free_port(), free_port()
    ini = INI.format(folder=folder, sql_port=sql_port, http_port=http_port, timeout_s=timeout_s, buffers=buffers,
                     dirty=buffers * 3 // 4)
    (folder / "virtuoso.ini").write_text(ini)
    process = subprocess.Popen(["virtuoso-t", "-f", "-c", str(folder / "virtuoso.ini")], cwd=folder,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{http_port}/sparql"
    try:
        wait_until_up(url + "?query=ASK%7B%7D", process, "Virtuoso", 120)
        sql = []
        if quads:  # the bulk loader: a file of N-Quads in an allowed folder
            (folder / "data.nq").write_bytes(serialize(quads, format=RdfFormat.N_QUADS) or b"")
            sql += [f"ld_dir('{folder}', 'data.nq', 'http://localhost/default');", "rdf_loader_run();", "checkpoint;"]
        if writable:
            sql += ["GRANT SPARQL_UPDATE TO \"SPARQL\";", "DB.DBA.RDF_DEFAULT_USER_PERMS_SET('nobody', 7);"]
        if sql:
            subprocess.run(["isql-vt", str(sql_port), "dba", "dba", "exec=" + " ".join(sql)], check=True,
                           capture_output=True, timeout=3600)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=120)


def wait_until_up(url: str, process: subprocess.Popen[bytes], what: str, seconds: float = 600) -> None:
    """Wait until ``url`` answers 2xx; fail when ``process`` ends or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=5).is_success:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.2)
