"""Bulk-load benchmark: a generated ontology of N triples (MONDO's shape) into the embedded store and into an
Oxigraph server through ``poems-kg import``, with Oxigraph's own bulk loader as the reference; then a query mix.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

import httpx
import psutil
from pyoxigraph import QuerySolutions

from bench.sparql import BIN, _port
from kg.store import KGStore, OxigraphStore, RemoteStore
from pipeline.bulk import BATCH

GRAPH = "https://w3id.org/poems-kg/graph/import/generated"
OBO = "http://purl.obolibrary.org/obo/"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"


def queries(n_classes: int) -> dict[str, str]:
    """The query mix, bound to classes that exist in a file of ``n_classes`` classes."""
    last = f"<{OBO}XMONDO_{n_classes:07d}>"
    return {
        "label lookup": f'SELECT ?c WHERE {{ GRAPH <{GRAPH}> {{ ?c <{RDFS}label> "generated disease {n_classes // 2}" }} }}',
        "children": f"SELECT ?c WHERE {{ GRAPH <{GRAPH}> {{ ?c <{RDFS}subClassOf> <{OBO}XMONDO_0000010> }} }}",
        "ancestors": f"SELECT ?a WHERE {{ GRAPH <{GRAPH}> {{ {last} <{RDFS}subClassOf>+ ?a }} }}",
        "count": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}",
    }


def generate(path: Path, n_triples: int) -> int:
    """Write an N-Triples ontology: classes with a label, a definition, a parent and two cross-references (5 triples).

    Identifiers use an ``XMONDO_`` prefix so that they can never be mistaken for real MONDO terms.
    """
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for i in range(1, n_triples // 5 + 1):
            c = f"<{OBO}XMONDO_{i:07d}>"
            out.write(f'{c} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/2002/07/owl#Class> .\n'
                      f'{c} <http://www.w3.org/2000/01/rdf-schema#label> "generated disease {i}" .\n'
                      f'{c} <http://purl.obolibrary.org/obo/IAO_0000115> "A generated class number {i} for load tests." .\n'
                      f'{c} <http://www.w3.org/2000/01/rdf-schema#subClassOf> <{OBO}XMONDO_{max(1, i // 10):07d}> .\n'
                      f'{c} <http://www.geneontology.org/formats/oboInOwl#hasDbXref> "XREF:{i}" .\n')
            written += 5
    return written


def _timed(argv: list[str], env: dict[str, str], watch: list[psutil.Process]) -> tuple[float, int]:
    """Run a command; its wall time and the peak resident memory of it and of ``watch`` (sampled every 0.1 s)."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=os.environ | env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tracked = [psutil.Process(process.pid), *watch]
    peak = 0
    while process.poll() is None:
        total = 0
        for p in tracked:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        peak = max(peak, total)
        time.sleep(0.1)
    if process.returncode:
        raise RuntimeError(f"{argv[0]} failed with exit code {process.returncode}")
    return time.perf_counter() - started, peak


def _query_medians(store: KGStore, mix: dict[str, str], repeat: int) -> dict[str, float]:
    out = {}
    for name, query in mix.items():
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            result = store.query(query)
            assert isinstance(result, QuerySolutions)
            rows = list(result)  # read every row
            assert rows, name
            times.append(time.perf_counter() - started)
        out[name] = statistics.median(times)
    return out


@contextmanager
def oxigraph_server(folder: Path) -> Iterator[tuple[str, psutil.Process]]:
    """An Oxigraph server over a new folder on a free loopback port: its URL and its process."""
    server = subprocess.Popen([str(BIN / "oxigraph"), "serve", "--location", str(folder), "--bind", f"127.0.0.1:{(port := _port())}",
                               "--union-default-graph"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(url + "/query", params={"query": "ASK {}"}).is_success:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url, psutil.Process(server.pid)
    finally:
        server.terminate()
        server.wait()


def post_lines(url: str, graph: str, path: Path) -> None:
    """The reference for the server target: POST an N-Triples file as it is, ``BATCH`` lines a Graph Store request."""
    with httpx.Client(timeout=None) as client, path.open("rb") as lines:
        while chunk := b"".join(islice(lines, BATCH)):
            client.post(url, params={"graph": graph}, content=chunk,
                        headers={"Content-Type": "application/n-triples"}).raise_for_status()


def load(n_triples: int, repeat: int) -> None:
    """Print load throughput and peak memory per target, then query medians at that size."""
    work = Path(tempfile.mkdtemp(prefix="poems-kg-load-"))
    try:
        data = work / "generated.nt"
        print(f"generating {n_triples:,} triples ...", flush=True)
        n = generate(data, n_triples)
        print(f"{data.stat().st_size / 2**20:,.0f} MB of N-Triples")
        print(f"{'target':<42} {'seconds':>9} {'triples/s':>11} {'peak MB':>9} {'speed / ref':>12}")
        rows = []  # pairs: a reference, then poems-kg doing the same
        seconds, peak = _timed([str(BIN / "oxigraph"), "load", "--location", str(work / "native"), "--file", str(data),
                                "--graph", GRAPH], {}, [])
        rows.append(("oxigraph load (reference)", seconds, peak))
        seconds, peak = _timed([str(BIN / "poems-kg"), "import", str(data), "--store", str(work / "embedded"),
                                "--graph", GRAPH], {}, [])
        rows.append(("poems-kg import -> embedded", seconds, peak))
        with oxigraph_server(work / "raw-post") as (url, server):
            seconds, peak = _timed([sys.executable, "-m", "bench.load", "post", url + "/store", GRAPH, str(data)], {},
                                   [server])
            rows.append(("raw N-Triples POSTs -> server (reference)", seconds, peak))
        with oxigraph_server(work / "server") as (url, server):
            seconds, peak = _timed([str(BIN / "poems-kg"), "import", str(data), "--graph", GRAPH],
                                   {"POEMS_KG_SPARQL_ENDPOINT": url + "/query", "POEMS_KG_SPARQL_UPDATE_ENDPOINT": url + "/update",
                                    "POEMS_KG_SPARQL_GRAPH_STORE_ENDPOINT": url + "/store"}, [server])
            rows.append(("poems-kg import -> server (GSP)", seconds, peak))
            for i, (name, seconds, peak) in enumerate(rows):
                reference = rows[i - i % 2][1]
                print(f"{name:<42} {seconds:>9.1f} {n / seconds:>11,.0f} {peak / 2**20:>9,.0f} {reference / seconds:>12.2f}")
            print("(peak MB: the importing process, plus the server for the server targets; the raw POSTs send the "
                  f"file as it is, {BATCH:,} lines a request, with no parsing: the server's own rate)")
            mix = queries(n // 5)
            embedded = _query_medians(OxigraphStore(work / "embedded"), mix, repeat)
            remote = _query_medians(RemoteStore(url + "/query"), mix, repeat)
        print(f"\nqueries at {n:,} triples (median of {repeat})")
        print(f"{'query':<14} {'embedded ms':>12} {'server ms':>10} {'server/embedded':>16}")
        for name in mix:
            print(f"{name:<14} {embedded[name] * 1000:>12.1f} {remote[name] * 1000:>10.1f} {remote[name] / embedded[name]:>16.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":  # python -m bench.load post URL GRAPH FILE: the reference, as its own process
    post_lines(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
