"""HTTP load benchmark: poems-kg against a bare Oxigraph server holding the same quads, with a native load generator.

``wrk`` (Debian package; installed with apt-get when missing) at a fixed number of connections for a fixed duration,
loopback only, one target after the other in one run, at the seed and at a synthetic workload. Every ``/sparql``
request is a different query (a numbered comment), so no answer cache stands in for the engine; the bare server runs
the same queries at ``/query``. Every other request is compared with the server's DESCRIBE of the resource it is
about: an entity's document, JSON, FHIR translation and CDS card with the entity's, a claim's with the claim's, the
source document (its text included) with the source's.
Before its load, each request is made once ("first ms"): the first answer of a data version, which poems-kg computes;
under the load, answers of an unchanged version are served again.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
from pyoxigraph import Quad, Store

from bench.sparql import _port as free_port
from bench.workload import synthetic_quads
from kg.namespaces import Namespaces
from kg.settings import DEFAULT_BASE_IRI, get_settings
from pipeline.build import build

BIN = Path(sys.executable).parent
NS = Namespaces(DEFAULT_BASE_IRI)
LOOKUP = ("PREFIX biolink: <https://w3id.org/biolink/vocab/> SELECT ?claim ?p ?o WHERE {{ GRAPH ?g {{ ?a biolink:subject "
          "<{entity}> ; biolink:predicate ?p ; biolink:object ?o }} ?claim <http://www.nanopub.org/nschema#hasAssertion> ?g }}")
CDS_BODY = ('{"hook":"patient-view","hookInstance":"bench","context":{"userId":"Practitioner/1","patientId":"1"},'
            '"prefetch":{"conditions":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Condition",'
            '"code":{"coding":[{"system":"http://snomed.info/sct","code":"79268002"}]}}}]}}}')
SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("{method}", "{path}" .. "{counter_prefix}" .. counter, {headers}, {body})
end
"""


def _wrk() -> str:
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True,
                       env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"})
    return "wrk"


def _lua(method: str, path: str, distinct: bool, headers: dict[str, str], body: str | None) -> str:
    lua_headers = "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items()) + "}"
    lua_body = "nil" if body is None else '"' + body.replace('"', '\\"') + '"'
    if distinct:  # a numbered SPARQL comment: a different query text every request
        return SCRIPT.format(method=method, path=path, counter_prefix="%0A%23", headers=lua_headers, body=lua_body)
    return f'request = function() return wrk.format("{method}", "{path}", {lua_headers}, {lua_body}) end\n'


def run(base: str, method: str, path: str, seconds: float, connections: int, distinct: bool = False,
        headers: dict[str, str] | None = None, body: str | None = None) -> tuple[float, float, float]:
    """Requests/s, p50 ms and p99 ms of ``wrk`` on one request (non-2xx/3xx answers make it fail)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(_lua(method, path, distinct, headers or {}, body))
        script.flush()
        out = subprocess.run([_wrk(), "-t2", f"-c{connections}", f"-d{round(seconds)}s", "--latency", "-s", script.name, base],
                             capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    if "Non-2xx or 3xx responses" in out:
        raise RuntimeError(f"{method} {path}: error answers\n{out}")

    def millis(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rate, millis("50%"), millis("99%")


def first(base: str, method: str, path: str, headers: dict[str, str], body: str | None) -> float:
    """Milliseconds of one request before the load: the first answer of a data version (computed, not kept).

    Sent as wrk sends the load (no compression asked), so that the load is served the answer this request computed.
    """
    start = time.perf_counter()
    response = httpx.request(method, base + path, headers={"Accept-Encoding": "identity", **headers}, content=body,
                             timeout=600)
    if response.status_code >= 400:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:200]}")
    return (time.perf_counter() - start) * 1000


def _wait(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 600
    while True:
        try:
            if httpx.get(url, timeout=5).is_success:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.2)


@contextmanager
def _serving(argv: list[str], url: str, what: str, env: dict[str, str] | None = None) -> Iterator[None]:
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(url, process, what)
        yield
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


Request = tuple[str, str, str | None, str]  # method, poems-kg path, body, the IRI its DESCRIBE reference is about


def _requests(entity: str, curie: str, claim: str, source: str, condition: str) -> dict[str, Request]:
    """Request name -> (method, path, body, IRI described); the SPARQL one is the lookup of ``entity``."""
    lookup = quote(LOOKUP.format(entity=entity), safe="")
    name = source.rsplit("/", 1)[1]
    return {
        "sparql (distinct queries)": ("GET", f"/sparql?query={lookup}", None, entity),
        "entity document .ttl": ("GET", f"/entity/{curie}.ttl" if not curie.startswith("poems:") else
                                 f"/id/{curie.removeprefix('poems:')}.ttl", None, entity),
        "claim document .trig": ("GET", f"/np/{claim.rsplit('/', 1)[1]}.trig", None, claim),
        "source document .ttl": ("GET", f"/source/{name}.ttl", None, source),
        "JSON entity": ("GET", f"/api/v1/entities/{curie}", None, entity),
        "JSON etiology": ("GET", f"/api/v1/conditions/{condition}/etiology", None, entity),
        "FHIR $translate": ("GET", "/fhir/ConceptMap/$translate?system=http://snomed.info/sct&sourceCode=79268002", None,
                            entity),
        "CDS Hooks patient-view": ("POST", "/cds-services/poems-kg-etiology", CDS_BODY, entity),
    }


def _reference(iri: str) -> str:
    """The row name of the bare server's DESCRIBE of ``iri``."""
    return f"server DESCRIBE {NS.compact(iri).rsplit('/', 1)[-1][:24]}"


def _workload(size: str) -> tuple[list[Quad], dict[str, Request]]:
    """The quads of a workload and its requests."""
    if size == "seed":
        settings = get_settings()
        seed = build(settings.kg_dir, settings.base_iri)
        poems = "http://purl.obolibrary.org/obo/MONDO_0017364"
        return seed.quads, _requests(poems, "MONDO:0017364", seed.iris["pcd-causes-poems"],
                                     NS.source + "poems-cause-summary", "MONDO:0017364")
    n = int(size)

    quads = synthetic_quads(n, NS)
    entity = NS.entity + "synthetic-condition-5"
    claim = next(q.subject.value for q in quads if q.predicate.value.endswith("#hasAssertion"))  # type: ignore[union-attr]
    return quads, _requests(entity, "poems:synthetic-condition-5", claim, NS.source + "synthetic",
                            "poems:synthetic-condition-5")


def http(sizes: list[str], seconds: float, connections: int) -> None:
    """Print, per workload, requests/s, p50 and p99 of poems-kg and the bare server, and their ratio."""
    print(f"wrk -t2 -c{connections} -d{seconds:g}s, loopback; ratio = poems-kg / bare Oxigraph server "
          "(/sparql to its /query, the others to its DESCRIBE of the resource they are about)")
    for size in sizes:
        quads, requests = _workload(size)
        with tempfile.TemporaryDirectory(prefix="poems-kg-http-") as folder:
            ours, theirs = Path(folder) / "poems-kg", Path(folder) / "oxigraph"
            for location in (ours, theirs):
                store = Store(str(location))
                store.bulk_extend(quads)
                store.flush()
                del store
            port, server_port = free_port(), free_port()
            env = os.environ | {"POEMS_KG_STORE_PATH": str(ours), "POEMS_KG_REASON_ON_START": "false"}
            server = f"http://127.0.0.1:{server_port}"
            results: dict[str, tuple[float, float, float]] = {}
            cold: dict[str, float] = {}
            described = sorted({iri for name, (*_, iri) in requests.items() if not name.startswith("sparql")})
            with _serving([str(BIN / "oxigraph"), "serve-read-only", "--location", str(theirs), "--bind",
                           f"127.0.0.1:{server_port}", "--union-default-graph"], server + "/query?query=ASK%7B%7D", "oxigraph"):
                for iri in described:
                    describe = quote(f"DESCRIBE <{iri}>", safe="")
                    results[_reference(iri)] = run(
                        server, "GET", f"/query?query={describe}", seconds, connections, headers={"Accept": "text/turtle"})
                _, path, _, _ = requests["sparql (distinct queries)"]
                results["server /query"] = run(server, "GET", path.replace("/sparql?", "/query?"), seconds, connections,
                                               distinct=True, headers={"Accept": "application/sparql-results+json"})
            base = f"http://127.0.0.1:{port}"
            with _serving([str(BIN / "poems-kg"), "serve", "--port", str(port)], base + "/sparql", "poems-kg", env):
                for name, (method, path, body, _) in requests.items():
                    sparql = name.startswith("sparql")
                    # the same headers for the first request and the load: the Accept header is part of an answer's key
                    headers = {"Accept": "application/sparql-results+json"} if sparql else \
                        {"Accept": "*/*", **({"Content-Type": "application/json"} if body else {})}
                    cold[name] = first(base, method, path, headers, body)
                    results[name] = run(base, method, path, seconds, connections, distinct=sparql, headers=headers,
                                        body=body)
        print(f"\nworkload: {size} ({len(quads):,} quads)")
        print(f"{'request':>44} {'first ms':>9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7}")
        for name, (rate, p50, p99) in results.items():
            iri = requests[name][3] if name in requests else ""
            reference = "server /query" if name.startswith("sparql") else _reference(iri)
            ratio = "" if name.startswith("server") else f"{rate / results[reference][0]:.2f}"
            once = f"{cold[name]:.0f}" if name in cold else ""
            print(f"{name:>44} {once:>9} {rate:>9.0f} {p50:>8.1f} {p99:>8.1f} {ratio:>7}")
