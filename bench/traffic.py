"""Load test: a mixed read workload, alone and then with concurrent writes, against a running ``poems-kg serve``.

Loopback only, a fixed number of clients for a fixed duration per phase. Reports throughput, p50/p99 latency per
phase and per request kind, errors (5xx must be zero), and the server's memory (RSS, workers included) before and
after. The peer of the write phase is the read-only phase measured in the same run.
"""

import asyncio
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import psutil

from bench.sparql import _port as free_port
from kg.settings import get_settings

TOKEN = "traffic-bench-secret"
ENTRY = f"bench:write:{hashlib.sha256(TOKEN.encode()).hexdigest()}"
LOOKUP = ("PREFIX biolink: <https://w3id.org/biolink/vocab/> SELECT ?claim ?p ?o WHERE { GRAPH ?g { ?a biolink:subject "
          "<http://purl.obolibrary.org/obo/MONDO_0017364> ; biolink:predicate ?p ; biolink:object ?o } "
          "?claim <http://www.nanopub.org/nschema#hasAssertion> ?g }")
READS = {
    "entity": ("GET", "/api/v1/entities/MONDO:0017364", None),
    "etiology": ("GET", "/api/v1/conditions/MONDO:0017364/etiology", None),
    "claims": ("GET", "/api/v1/entities/MONDO:0017364/claims?limit=20", None),
    "sparql": ("GET", "/sparql?" + urlencode({"query": LOOKUP}), None),
    "translate": ("GET", "/fhir/ConceptMap/$translate?system=http://snomed.info/sct&sourceCode=79268002", None),
}


def _rss(pid: int) -> float:
    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20


def _start(folder: Path, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {"POEMS_KG_STORE_PATH": str(folder / "store"), "POEMS_KG_TOKENS": f'["{ENTRY}"]',
                        "POEMS_KG_REASON_ON_START": "false", "POEMS_KG_QUERY_WORKERS": "2"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "poems-kg"), "serve", "--port", str(port)], env=env,
                               stdout=(folder / "server.log").open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/sparql").is_success:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("poems-kg serve did not start")
        time.sleep(0.2)


async def _reader(client: httpx.AsyncClient, until: float, kinds: list[str], results: dict[str, list[float]],
                  statuses: dict[int, int], offset: int) -> None:
    i = offset
    while time.perf_counter() < until:
        kind = kinds[i % len(kinds)]
        method, path, body = READS[kind]
        started = time.perf_counter()
        response = await client.request(method, path, json=body)
        results[kind].append(time.perf_counter() - started)
        statuses[response.status_code] += 1
        i += 1


async def _writer(client: httpx.AsyncClient, until: float, text: str, start: int, results: dict[str, list[float]],
                  statuses: dict[int, int]) -> None:
    i = start
    while time.perf_counter() < until:
        body = {"source": "poems-cause-summary", "key": f"bench-{i}", "subject": "MONDO:0017364",
                "predicate": "biolink:associated_with", "object": "HP:0002715",
                "quote": text[(i * 7) % (len(text) - 40):][:24], "note": "Load-test write."}
        started = time.perf_counter()
        response = await client.post("/api/v1/claims", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        results["write"].append(time.perf_counter() - started)
        statuses[response.status_code] += 1
        i += 1000


async def _phase(base: str, seconds: float, readers: int, writers: int, text: str, first_key: int) -> tuple[
        dict[str, list[float]], dict[int, int], float]:
    results: dict[str, list[float]] = defaultdict(list)
    statuses: dict[int, int] = defaultdict(int)
    limits = httpx.Limits(max_connections=readers + writers)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        started = time.perf_counter()
        until = started + seconds
        kinds = list(READS)
        await asyncio.gather(*(_reader(client, until, kinds, results, statuses, i) for i in range(readers)),
                             *(_writer(client, until, text, first_key + i, results, statuses) for i in range(writers)))
        return results, statuses, time.perf_counter() - started


def _row(name: str, times: list[float], seconds: float) -> str:
    if not times:
        return f"{name:>12} {0:>8}"
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"{name:>12} {len(times):>8} {len(times) / seconds:>9.1f} {statistics.median(times) * 1000:>9.1f} "
            f"{p99 * 1000:>9.1f}")


@dataclass
class Held:
    """What the load did: requests/s per phase, 5xx answers, writes acknowledged, server memory growth."""

    per_second: dict[str, float] = field(default_factory=dict)
    server_errors: int = 0
    writes: int = 0
    rss_growth_mb: float = 0.0


def traffic(seconds: float, readers: int, writers: int) -> Held:
    """Run both phases, print the tables and return the figures; exits non-zero if any answer was a 5xx."""
    text = (get_settings().kg_dir / "sources" / "poems-cause-summary" / "text.txt").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="poems-kg-traffic-") as folder:
        port = free_port()
        server = _start(Path(folder), port)
        try:
            base = f"http://127.0.0.1:{port}"
            rss_before = _rss(server.pid)
            print(f"server RSS before: {rss_before:.0f} MB; {readers} readers, {writers} writers, {seconds:g} s per phase")
            header = f"{'request':>12} {'count':>8} {'per s':>9} {'p50 ms':>9} {'p99 ms':>9}"
            medians = {}
            held = Held()
            for name, n_writers in (("reads only", 0), ("reads+writes", writers)):
                results, statuses, elapsed = asyncio.run(_phase(base, seconds, readers, n_writers, text, 1))
                reads = [t for kind, ts in results.items() if kind != "write" for t in ts]
                medians[name] = statistics.median(reads)
                held.server_errors += sum(n for code, n in statuses.items() if code >= 500)
                held.writes += statuses.get(201, 0)
                held.per_second[name] = sum(statuses.values()) / elapsed
                print(f"\n{name}: {sum(statuses.values()) / elapsed:.1f} requests/s; status codes {dict(sorted(statuses.items()))}")
                print(header)
                for kind, times in sorted(results.items()):
                    print(_row(kind, times, elapsed))
                print(_row("all reads", reads, elapsed))
            rss_after = _rss(server.pid)
            ratio = medians["reads+writes"] / medians["reads only"]
            print(f"\nread p50 with writes / without: {ratio:.2f}x")
            held.rss_growth_mb = rss_after - rss_before
            print(f"server RSS after: {rss_after:.0f} MB ({held.rss_growth_mb:+.0f} MB); 5xx answers: {held.server_errors}")
        except httpx.HTTPError:
            print("the server failed; its log ends with:\n" + (Path(folder) / "server.log").read_text()[-3000:])
            raise
        finally:
            server.terminate()
            server.wait(30)
    if held.server_errors:
        raise SystemExit(f"{held.server_errors} server errors")
    return held
