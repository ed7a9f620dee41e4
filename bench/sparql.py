"""SPARQL benchmark: poems-kg's ``/sparql`` against a bare Oxigraph server, rdflib-endpoint and rdflib's engine.

Every peer gets the same synthetic dataset and the same five queries, one peer at a time, each query once to
warm up and then ``repeat`` times; the median is reported with its ratio to the Oxigraph server. A query that
runs past ``cap`` seconds is abandoned (its peer restarted) and reported as "dnf".
"""

import json
import os
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from pyoxigraph import RdfFormat, Store, serialize

from bench.workload import synthetic, synthetic_quads
from kg.compile import compile_dataset
from kg.namespaces import Namespaces
from kg.settings import DEFAULT_BASE_IRI

NS = Namespaces(DEFAULT_BASE_IRI)
BIN = Path(sys.executable).parent
PREFIXES = f"""PREFIX biolink: <https://w3id.org/biolink/vocab/>
PREFIX np: <http://www.nanopub.org/nschema#>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX poems: <{NS.entity}>
"""
# ENTITY and NANOPUB are replaced by an entity and a nanopublication of the workload.
QUERIES: dict[str, str] = {
    "lookup": """SELECT ?np ?predicate ?object ?negated ?quote WHERE {
  GRAPH ?head { ?np np:hasAssertion ?assertion ; np:hasProvenance ?provenance }
  GRAPH ?assertion { ?association biolink:subject <ENTITY> ; biolink:predicate ?predicate ;
                                  biolink:object ?object ; biolink:negated ?negated }
  GRAPH ?provenance { ?assertion prov:wasDerivedFrom ?target . ?target oa:hasSelector ?selector . ?selector oa:exact ?quote }
}""",
    "aggregate": """SELECT ?predicate ?direction (COUNT(?association) AS ?claims) WHERE {
  ?association biolink:predicate ?predicate ; poems:direction ?direction
} GROUP BY ?predicate ?direction ORDER BY ?predicate ?direction""",
    "negated-filter": """SELECT ?association ?subjectLabel ?objectLabel WHERE {
  ?association biolink:negated true ; biolink:subject ?subject ; biolink:object ?object .
  ?object rdfs:label ?objectLabel . ?subject rdfs:label ?subjectLabel
  FILTER(CONTAINS(?objectLabel, "condition 1"))
}""",
    "two-hop": """SELECT DISTINCT ?middle ?end WHERE { <ENTITY> biolink:causes ?middle . ?middle biolink:causes ?end }""",
    "construct-np": """CONSTRUCT { ?s ?p ?o } WHERE {
  VALUES ?g { <NANOPUB#head> <NANOPUB#assertion> <NANOPUB#provenance> <NANOPUB#pubinfo> } GRAPH ?g { ?s ?p ?o }
}""",
}
SELECT_ACCEPT, GRAPH_ACCEPT = "application/sparql-results+json", "application/n-triples"


def workload_queries(n_claims: int) -> dict[str, str]:
    """The five queries, bound to an entity and a nanopublication of an ``n_claims`` workload."""
    sources, claims = synthetic(n_claims, NS)
    middle = claims[len(claims) // 2]
    nanopub = compile_dataset(sources, [middle], NS).iris[middle.key]
    entity = NS.entity + "synthetic-cause-42"
    return {name: PREFIXES + q.replace("ENTITY", entity).replace("NANOPUB", nanopub) for name, q in QUERIES.items()}


def _peak_bytes(pid: int) -> int:
    """Peak resident memory (VmHWM) of a process and its children, summed."""
    total = 0
    try:
        tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for process in tree:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
        except OSError:
            continue
        total += next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmHWM"))
    return total


def _kill(process: subprocess.Popen[bytes]) -> None:
    for child in psutil.Process(process.pid).children(recursive=True):
        child.kill()
    process.kill()
    process.wait()


class _ChildPeer:
    """A peer that runs as a child process."""

    process: subprocess.Popen[bytes] | None

    def stop(self) -> int:
        """Stop; peak memory in bytes."""
        peak = _peak_bytes(self.process.pid) if self.process else 0
        if self.process:
            _kill(self.process)
            self.process = None
        return peak


@dataclass
class HttpPeer(_ChildPeer):
    """A SPARQL server started as a child process and queried over HTTP with GET."""

    name: str
    argv: list[str]
    url: str
    load_cap: float
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=None))

    def start(self) -> float:
        """Start and wait until it answers; seconds taken (raises TimeoutError past ``load_cap``)."""
        started = time.perf_counter()
        self.process = subprocess.Popen(self.argv, env=os.environ | self.env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        while time.perf_counter() - started < self.load_cap:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            try:
                if self.client.get(self.url, params={"query": "ASK {}"}, headers={"Accept": SELECT_ACCEPT}).is_success:
                    return time.perf_counter() - started
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError

    def run(self, query: str, cap: float) -> float | None:
        """Seconds for one query, response read in full; None past ``cap`` (the server is then restarted)."""
        accept = GRAPH_ACCEPT if "CONSTRUCT" in query else SELECT_ACCEPT
        started = time.perf_counter()
        try:
            response = self.client.get(self.url, params={"query": query}, headers={"Accept": accept}, timeout=cap)
        except httpx.TimeoutException:
            self.stop()
            self.start()
            return None
        elapsed = time.perf_counter() - started
        if response.status_code in (503, 504):
            return None
        response.raise_for_status()
        return elapsed


@dataclass
class EnginePeer(_ChildPeer):
    """rdflib's engine in a child process (``bench.rdflib_peer engine``)."""

    name: str
    path: Path
    load_cap: float
    process: subprocess.Popen[bytes] | None = None

    def _line(self, timeout: float) -> bytes | None:
        assert self.process and self.process.stdout
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        return self.process.stdout.readline() if ready else None

    def start(self) -> float:
        """Start and wait until the data is loaded."""
        started = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "-m", "bench.rdflib_peer", "engine", str(self.path)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        if self._line(self.load_cap) is None:
            self.stop()
            raise TimeoutError
        return time.perf_counter() - started

    def run(self, query: str, cap: float) -> float | None:
        """Seconds for one query as timed in the engine's process; None past ``cap``."""
        assert self.process and self.process.stdin
        self.process.stdin.write(json.dumps({"query": query}).encode() + b"\n")
        self.process.stdin.flush()
        line = self._line(cap)
        if line is None:
            self.stop()
            self.start()
            return None
        return float(json.loads(line)["seconds"])


Peer = HttpPeer | EnginePeer


@dataclass
class Outcome:
    """One peer at one size."""

    start_s: float | None = None
    peak_bytes: int = 0
    medians: dict[str, float | None] = field(default_factory=dict)


def measure(peer: Peer, queries: dict[str, str], repeat: int, cap: float) -> Outcome:
    """Start the peer, time every query, stop it."""
    outcome = Outcome()
    try:
        outcome.start_s = peer.start()
    except TimeoutError:
        outcome.medians = dict.fromkeys(queries)
        return outcome
    for name, query in queries.items():
        times: list[float] = []
        for _ in range(repeat + 1):  # the first run warms up and is not counted
            seconds = peer.run(query, cap)
            if seconds is None:
                break
            times.append(seconds)
        outcome.medians[name] = statistics.median(times[1:]) if len(times) == repeat + 1 else None
    outcome.peak_bytes = peer.stop()
    return outcome


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peers(work: Path, data: Path, cap: float, load_cap: float, with_rdflib: bool) -> list[Peer]:
    """The four peers, on copies of the same data."""
    poems_store, oxigraph_store = work / "poems-kg-store", work / "oxigraph-store"
    store = Store(str(poems_store))
    store.bulk_load(path=str(data), format=RdfFormat.N_QUADS)
    store.flush()
    store.backup(str(oxigraph_store))
    del store
    p1, p2, p3 = _port(), _port(), _port()
    listed: list[Peer] = [
        HttpPeer("poems-kg /sparql", [str(BIN / "poems-kg"), "serve", "--port", str(p1), "--store", str(poems_store)],
                 f"http://127.0.0.1:{p1}/sparql", load_cap,
                 {"POEMS_KG_QUERY_TIMEOUT_S": str(cap), "POEMS_KG_MAX_RESULT_BYTES": str(10**10)}),
        HttpPeer("oxigraph server", [str(BIN / "oxigraph"), "serve-read-only", "--location", str(oxigraph_store),
                                     "--bind", f"127.0.0.1:{p2}", "--union-default-graph", "--timeout-s", str(int(cap))],
                 f"http://127.0.0.1:{p2}/query", load_cap),
    ]
    if with_rdflib:
        listed += [
            HttpPeer("rdflib-endpoint", [sys.executable, "-m", "bench.rdflib_peer", "endpoint", str(data), str(p3)],
                     f"http://127.0.0.1:{p3}/", load_cap),
            EnginePeer("rdflib engine", data, load_cap),
        ]
    return listed


def _cell(seconds: float | None, reference: float | None) -> str:
    if seconds is None:
        return "dnf"
    ratio = f" ({seconds / reference:.2f}x)" if reference else ""
    return f"{seconds * 1000:.1f} ms{ratio}" if seconds < 10 else f"{seconds:.1f} s{ratio}"


def report(n: int, quads: int, outcomes: dict[str, Outcome], cap: float, load_cap: float) -> None:
    """Print one size's table: medians with the ratio to the Oxigraph server."""
    names = list(outcomes)
    reference = outcomes["oxigraph server"]
    print(f"\n{n:,} claims, {quads:,} quads (median of repeats; 'dnf' = not finished within {cap:g} s; "
          f"'not loaded' = not ready within {load_cap:g} s)")
    print(f"{'query':<15}" + "".join(f"{name:>26}" for name in names))
    for query in QUERIES:
        ref = reference.medians.get(query)
        print(f"{query:<15}" + "".join(f"{_cell(outcomes[p].medians.get(query), ref):>26}" for p in names))
    print(f"{'start s':<15}" + "".join(
        f"{(f'{o.start_s:.1f}' if o.start_s is not None else 'not loaded'):>26}" for o in outcomes.values()))
    print(f"{'peak MB':<15}" + "".join(f"{o.peak_bytes / 2**20:>26.0f}" for o in outcomes.values()))


def seed_start_seconds(repeat: int) -> float:
    """Median time from ``poems-kg serve`` (seed KG, in memory, reasoning on) to its first answer."""
    times = []
    for _ in range(repeat):
        port = _port()
        peer = HttpPeer("seed", [str(BIN / "poems-kg"), "serve", "--port", str(port)],
                        f"http://127.0.0.1:{port}/sparql", 60)
        times.append(peer.start())
        peer.stop()
    return statistics.median(times)


def sparql(sizes: list[int], repeat: int, cap: float, load_cap: float, rdflib_max: int,
           progress: Callable[[str], None] = print) -> None:
    """Run the whole suite and print a table per size."""
    print(f"poems-kg serve start-up with the seed KG (median of {repeat}): {seed_start_seconds(repeat):.2f} s")
    for n in sizes:
        work = Path(tempfile.mkdtemp(prefix="poems-kg-bench-"))
        try:
            progress(f"building {n:,} claims ...")
            quads = synthetic_quads(n, NS)
            data = work / "data.nq"
            serialize(quads, output=str(data), format=RdfFormat.N_QUADS)
            outcomes = {}
            for peer in peers(work, data, cap, load_cap, with_rdflib=n <= rdflib_max):
                progress(f"  {peer.name} ...")
                outcomes[peer.name] = measure(peer, workload_queries(n), repeat, cap)
            report(n, len(quads), outcomes, cap, load_cap)
            if n > rdflib_max:
                print(f"(rdflib peers not run above {rdflib_max:,} claims: --rdflib-max)")
        finally:
            shutil.rmtree(work, ignore_errors=True)
