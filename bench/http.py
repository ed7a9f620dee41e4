"""HTTP load benchmark: poems-kg against a bare Oxigraph server and Virtuoso holding the same quads, with a native
load generator.

``wrk`` (Debian package; installed with apt-get when missing) at a fixed number of connections for a fixed duration,
loopback only, one target after the other in one run, at the seed and at a synthetic workload (``bench.workload``: a
few hub entities with thousands of claims, many with a handful). Requests about an entity rotate over 20 entities, hubs
and tail alike, so that every answer is a real one; every ``/sparql`` request is a different query (a numbered
comment), so no answer cache stands in for the engine, and the peers run the same queries. Every other request is
compared with the bare server's DESCRIBE of the resources it is about (the same 20 entities, the claim, the source).
Each server is measured once it has started and gone idle (poems-kg computes its largest lists when it starts:
``api.warm``). Before the load, each path is requested once ("first ms", median and p95 over the entities): the first
answer of a data version, which poems-kg computes; under the load, answers of an unchanged version are served again.
Virtuoso (Debian package, installed when missing, read-only, ``MaxQueryExecutionTime``) is the peer with a query time
limit.
"""

import contextlib
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import psutil
from pyoxigraph import Quad, Store

from bench.sparql import _port as free_port
from bench.virtuoso import virtuoso, wait_until_up
from bench.workload import shape, synthetic_quads
from kg.isolated import allocator_env
from kg.namespaces import Namespaces
from kg.settings import DEFAULT_BASE_IRI, get_settings
from pipeline.build import build

BIN = Path(sys.executable).parent
NS = Namespaces(DEFAULT_BASE_IRI)
ENTITIES = 20  # entities each entity request rotates over; first answers are their median and p95
LOOKUP = ("PREFIX biolink: <https://w3id.org/biolink/vocab/> SELECT ?claim ?p ?o WHERE {{ GRAPH ?g {{ {{ ?a biolink:subject "
          "<{entity}> }} UNION {{ ?a biolink:object <{entity}> }} ?a biolink:predicate ?p ; biolink:object ?o }} "
          "?claim <http://www.nanopub.org/nschema#hasAssertion> ?g }}")
CDS_BODY = ('{"hook":"patient-view","hookInstance":"bench","context":{"userId":"Practitioner/1","patientId":"1"},'
            '"prefetch":{"conditions":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Condition",'
            '"code":{"coding":[{"system":"http://snomed.info/sct","code":"79268002"}]}}}]}}}')
SCRIPT = """
paths = {{{paths}}}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("{method}", paths[counter % #paths + 1]{suffix}, {headers}, {body})
end
"""


def _wrk() -> str:
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True,
                       env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"})
    return "wrk"


def _lua(method: str, paths: list[str], distinct: bool, headers: dict[str, str], body: str | None) -> str:
    """A wrk script cycling through ``paths``; ``distinct``: each request's query text numbered (a SPARQL comment)."""
    lua_headers = "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items()) + "}"
    lua_body = "nil" if body is None else '"' + body.replace('"', '\\"') + '"'
    return SCRIPT.format(paths=", ".join(f'"{p}"' for p in paths), method=method, headers=lua_headers, body=lua_body,
                         suffix=' .. "%0A%23" .. counter' if distinct else "")


def run(base: str, method: str, paths: list[str], seconds: float, connections: int, distinct: bool = False,
        headers: dict[str, str] | None = None, body: str | None = None) -> tuple[float, float, float]:
    """Requests/s, p50 ms and p99 ms of ``wrk`` cycling through ``paths`` (non-2xx/3xx answers make it fail)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(_lua(method, paths, distinct, headers or {}, body))
        script.flush()
        out = subprocess.run([_wrk(), "-t2", f"-c{connections}", f"-d{round(seconds)}s", "--latency", "-s", script.name, base],
                             capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    if "Non-2xx or 3xx responses" in out:
        raise RuntimeError(f"{method} {paths[0]}: error answers\n{out}")

    def millis(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rate, millis("50%"), millis("99%")


def first(base: str, method: str, path: str, headers: dict[str, str], body: str | None) -> tuple[float, httpx.Response]:
    """Milliseconds of one request before the load, and its answer: the first answer of a data version (computed, not
    kept). Sent as wrk sends the load (no compression asked), so that the load is served the answer this request computed.
    """
    start = time.perf_counter()
    response = httpx.request(method, base + path, headers={"Accept-Encoding": "identity", **headers}, content=body,
                             timeout=600)
    if response.status_code >= 400:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:200]}")
    return (time.perf_counter() - start) * 1000, response


@contextmanager
def _serving(argv: list[str], url: str, what: str, env: dict[str, str] | None = None) -> Iterator[None]:
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(url, process, what)
        busy = _settled(process.pid)
        if busy >= 1:
            print(f"  {what} was busy for {busy:.0f} s after it answered (its start-up work, such as poems-kg's largest "
                  "lists, api.warm, and the store's own compaction); measured once idle")
        yield
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Request:
    """One kind of request: its method, the paths it cycles through, its body, and the row of its DESCRIBE reference."""

    method: str
    paths: list[str]
    body: str | None
    reference: str


@dataclass
class Workload:
    """The quads of a workload, the entities its requests are about (hubs first), a claim and the source."""

    quads: list[Quad]
    entities: list[str]  # CURIEs
    claim: str
    source: str

    def requests(self) -> dict[str, Request]:
        """Request name -> request."""
        iris = [NS.expand(c) for c in self.entities]
        documents = [f"/id/{c.removeprefix('poems:')}.ttl" if c.startswith("poems:") else f"/entity/{c}.ttl" for c in self.entities]
        return {
            "sparql lookup (distinct queries)": Request("GET", [f"/sparql?query={quote(LOOKUP.format(entity=i), safe='')}"
                                                                for i in iris], None, "server /query"),
            "entity document .ttl": Request("GET", documents, None, "server DESCRIBE entities"),
            "JSON entity": Request("GET", [f"/api/v1/entities/{c}" for c in self.entities], None, "server DESCRIBE entities"),
            "JSON etiology": Request("GET", [f"/api/v1/conditions/{c}/etiology" for c in self.entities], None,
                                     "server DESCRIBE entities"),
            "claim document .trig": Request("GET", [f"/np/{self.claim.rsplit('/', 1)[1]}.trig"], None, "server DESCRIBE claim"),
            "source document .ttl": Request("GET", [f"/source/{self.source.rsplit('/', 1)[1]}.ttl"], None,
                                            "server DESCRIBE source"),
            "FHIR $translate": Request("GET", ["/fhir/ConceptMap/$translate?system=http://snomed.info/sct&sourceCode=79268002"],
                                       None, "server DESCRIBE entities"),
            "CDS Hooks patient-view": Request("POST", ["/cds-services/poems-kg-etiology"], CDS_BODY, "server DESCRIBE entities"),
        }

    def references(self) -> dict[str, list[str]]:
        """DESCRIBE reference name -> the IRIs it describes."""
        return {"server DESCRIBE entities": [NS.expand(c) for c in self.entities],
                "server DESCRIBE claim": [self.claim], "server DESCRIBE source": [self.source]}


def _workload(size: str) -> Workload:
    """The quads of a workload and what its requests are about."""
    if size == "seed":
        settings = get_settings()
        seed = build(settings.kg_dir, settings.base_iri)
        named = Counter(NS.compact(c.subject) for c in seed.claims) + Counter(NS.compact(c.object) for c in seed.claims if c.object)
        entities = [c for c, _ in named.most_common() if not c.startswith(("source:", "http"))][:ENTITIES]
        return Workload(seed.quads, entities, seed.iris["pcd-causes-poems"], NS.source + "poems-cause-summary")
    quads = synthetic_quads(int(size), NS)
    claim = next(q.subject.value for q in quads if q.predicate.value.endswith("#hasAssertion"))  # type: ignore[union-attr]
    return Workload(quads, synthetic_entities(int(size)), claim, NS.source + "synthetic")


def synthetic_entities(n: int) -> list[str]:
    """The entities of a synthetic workload of ``n`` claims that requests rotate over: 7 hubs, then the tail."""
    causes, conditions = shape(n)
    hubs = [f"poems:synthetic-cause-{i}" for i in range(4)] + [f"poems:synthetic-condition-{i}" for i in range(3)]
    step_causes, step_conditions = causes // 7, conditions // 7
    tail = [f"poems:synthetic-cause-{i * step_causes + 5}" for i in range(1, 7)] + \
           [f"poems:synthetic-condition-{i * step_conditions + 3}" for i in range(1, 8)]
    return (hubs + tail)[:ENTITIES]


def _ratio(ours: float, theirs: float) -> str:
    """``ours / theirs``; "inf" when the peer answered nothing within the run (its time limit, or too slow)."""
    return f"{ours / theirs:.2f}" if theirs else "inf"


def _median_p95(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _peer_rows(name: str, base: str, query_path: str, workload: Workload, seconds: float, connections: int,
               results: dict[str, tuple[float, float, float]]) -> None:
    """The lookups and DESCRIBEs of one peer (``query_path``: its SPARQL path)."""
    lookups = [p.replace("/sparql?", f"{query_path}?") for p in workload.requests()["sparql lookup (distinct queries)"].paths]
    results[f"{name} /query"] = run(base, "GET", lookups, seconds, connections, distinct=True,
                                    headers={"Accept": "application/sparql-results+json"})
    for reference, iris in workload.references().items():
        paths = [f"{query_path}?query={quote(f'DESCRIBE <{i}>', safe='')}" for i in iris]
        results[reference.replace("server", name)] = run(base, "GET", paths, seconds, connections,
                                                         headers={"Accept": "text/turtle"})


def _headers(request: Request, sparql: bool) -> dict[str, str]:
    """The same headers for the first requests and the load: the Accept header is part of an answer's key."""
    if sparql:
        return {"Accept": "application/sparql-results+json"}
    return {"Accept": "*/*", **({"Content-Type": "application/json"} if request.body else {})}


def tree(pid: int) -> Callable[[], list[int]]:
    """The process ``pid`` and its children, found anew at each sample (workers are replaced)."""
    return lambda: [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]


def listening(port: int) -> int:
    """The pid of the process listening on ``port`` that started the others listening there (if any)."""
    pids = listeners(port)
    return next(pid for pid in pids if psutil.Process(pid).ppid() not in pids)


def listeners(port: int) -> set[int]:
    """The pids of every process listening on ``port``."""
    return {c.pid for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port and c.status == "LISTEN" and c.pid}


def _cpu(pids: list[int]) -> float:
    """CPU seconds (user and system) the processes ``pids`` have used."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def _settled(pid: int, limit_s: float = 300) -> float:
    """Wait until the process ``pid`` and its children use under a tenth of a core; the seconds waited."""
    start = previous = time.monotonic()
    used = _cpu(tree(pid)())
    while previous - start < limit_s:
        time.sleep(0.5)
        now, total = time.monotonic(), _cpu(tree(pid)())
        if total - used < 0.1 * (now - previous):
            break
        previous, used = now, total
    return previous - start


def _warm(base: str, request: Request, headers: dict[str, str]) -> None:
    """Each path requested over 8 new connections at once, so that every serving process has computed its answer."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda path: first(base, request.method, path, headers, request.body), request.paths * 8))


def http(sizes: list[str], seconds: float, connections: int, virtuoso_peer: bool = True,
         processes: tuple[int, ...] = ()) -> None:
    """Print, per workload, first answers, requests/s, p50 and p99 of poems-kg and its peers, and the ratios; then
    requests/s with each number of serving ``processes`` against one."""
    print(f"wrk -t2 -c{connections} -d{seconds:g}s, loopback; ratio = poems-kg / bare Oxigraph server "
          "(/sparql to its /query, the others to its DESCRIBE of the resources they are about); Virtuoso beside it")
    preloaded = allocator_env(get_settings().query_allocator).get("LD_PRELOAD")
    print(f"poems-kg's query processes allocate with {preloaded or 'the C library'} (setting POEMS_KG_QUERY_ALLOCATOR)")
    for size in sizes:
        workload = _workload(size)
        requests = workload.requests()
        results: dict[str, tuple[float, float, float]] = {}
        cold: dict[str, tuple[float, float, float]] = {}  # first ms median, p95, answer KB median
        scaled: dict[tuple[str, int], tuple[float, float, float]] = {}  # processes: req/s, server CPU µs/req, cores busy
        with tempfile.TemporaryDirectory(prefix="poems-kg-http-") as folder:
            ours, theirs = Path(folder) / "poems-kg", Path(folder) / "oxigraph"
            for location in (ours, theirs):
                store = Store(str(location))
                store.bulk_extend(workload.quads)
                store.flush()
                del store
            port, server_port = free_port(), free_port()
            env = os.environ | {"POEMS_KG_STORE_PATH": str(ours), "POEMS_KG_REASON_ON_START": "false"}
            server = f"http://127.0.0.1:{server_port}"
            with _serving([str(BIN / "oxigraph"), "serve-read-only", "--location", str(theirs), "--bind",
                           f"127.0.0.1:{server_port}", "--union-default-graph"], server + "/query?query=ASK%7B%7D", "oxigraph"):
                _peer_rows("server", server, "/query", workload, seconds, connections, results)
            if virtuoso_peer:
                with virtuoso(Path(folder) / "virtuoso", timeout_s=10, quads=workload.quads, buffers=60000) as url:
                    base, _, path = url.rpartition("/")
                    _peer_rows("Virtuoso", base, "/" + path, workload, seconds, connections, results)
            base = f"http://127.0.0.1:{port}"
            with _serving([str(BIN / "poems-kg"), "serve", "--port", str(port)], base + "/sparql", "poems-kg", env):
                for name, request in requests.items():
                    sparql = name.startswith("sparql")
                    headers = _headers(request, sparql)
                    firsts = [first(base, request.method, p, headers, request.body) for p in request.paths]
                    sizes_kb = [len(r.content) / 1024 for _, r in firsts]
                    cold[name] = (*_median_p95([ms for ms, _ in firsts]), statistics.median(sizes_kb))
                    if sparql:
                        rows = sorted(len(r.json()["results"]["bindings"]) for _, r in firsts)
                        print(f"  {size}: lookup rows per entity: min {rows[0]}, median {statistics.median(rows):g}, "
                              f"max {rows[-1]} ({len(rows)} entities)")
                    results[name] = run(base, request.method, request.paths, seconds, connections, distinct=sparql,
                                        headers=headers, body=request.body)
            for count in (1, *processes) if processes else ():  # one process again, measured the same way
                with _serving([str(BIN / "poems-kg"), "serve", "--port", str(port), "--processes", str(count)],
                              base + "/sparql", "poems-kg", env):
                    serving = tree(listening(port))
                    for name, request in requests.items():
                        sparql = name.startswith("sparql")
                        headers = _headers(request, sparql)
                        _warm(base, request, headers)
                        before = _cpu(serving()), resource.getrusage(resource.RUSAGE_CHILDREN)
                        rate = run(base, request.method, request.paths, seconds, connections,
                                   distinct=sparql, headers=headers, body=request.body)[0]
                        wrk = resource.getrusage(resource.RUSAGE_CHILDREN)
                        served = _cpu(serving()) - before[0]
                        load = wrk.ru_utime + wrk.ru_stime - before[1].ru_utime - before[1].ru_stime
                        scaled[(name, count)] = (rate, served / (rate * seconds) * 1e6, (served + load) / seconds)
        print(f"\nworkload: {size} ({len(workload.quads):,} quads; entity requests rotate over {len(workload.entities)} "
              f"entities: {', '.join(workload.entities[:3])}, ...)")
        print(f"{'request':>36} {'first ms':>9} {'p95':>7} {'KB':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} "
              f"{'/Virt.':>6}")
        for name, (rate, p50, p99) in results.items():
            reference = requests[name].reference if name in requests else ""
            ratio = _ratio(rate, results[reference][0]) if reference else ""
            peer = reference.replace("server", "Virtuoso")
            versus = _ratio(rate, results[peer][0]) if peer in results else ""
            once, p95, kb = (f"{v:.0f}" if v >= 10 else f"{v:.1f}" for v in cold[name]) if name in cold else ("", "", "")
            print(f"{name:>36} {once:>9} {p95:>7} {kb:>7} {rate:>9.0f} {p50:>8.1f} {p99:>8.1f} {ratio:>6} {versus:>6}")
        if processes:
            print(f"\n{'request':>36} " + " ".join(f"{f'{n} proc. req/s':>14} {'ratio':>6} {'CPU µs/req':>10} {'cores':>5}"
                                                   for n in (1, *processes))
                  + f"   (ratio: to 1 process; CPU: the server's per request; cores: server and wrk busy, of {os.cpu_count()})")
            for name in requests:
                one = scaled[(name, 1)][0]
                print(f"{name:>36} " + " ".join(f"{scaled[(name, n)][0]:>14.0f} {_ratio(scaled[(name, n)][0], one):>6} "
                                                f"{scaled[(name, n)][1]:>10.0f} {scaled[(name, n)][2]:>5.2f}" for n in (1, *processes)))
