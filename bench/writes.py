"""Write latency against store size: one claim write and one admin update, at each workload size, over HTTP; and
reads under writes.

Each size gets a fresh on-disk store (the seed plus a synthetic workload) and its own ``poems-kg serve``; a write is
timed from request to answer, so it includes every check of the gate and the refresh that makes it visible. The
ratio compares each size with the first: a write that does not grow with the store stays near 1. Then ``wrk`` reads
documents and JSON (16 connections; the workload's 20 entities, hubs and tail, and the entity every write is about),
first alone, then while claims arrive at 5 a second (each on time, answered or not): the read p99 with writes is what
a write costs the readers; the writes a second are those answered within the run.
"""

import contextlib
import hashlib
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from pyoxigraph import Store

from bench.http import Request, _serving, _warm, free_port, run, synthetic_entities
from bench.workload import synthetic_quads
from kg.namespaces import Namespaces
from kg.settings import get_settings
from pipeline.build import build

TOKEN = "writes-bench-secret"
ENTRY = f"bench:admin:{hashlib.sha256(TOKEN.encode()).hexdigest()}"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ONTOLOGY = "https://w3id.org/poems-kg/graph/ontology"


def _timed(request: httpx.Request, client: httpx.Client, expect: int) -> float:
    started = time.perf_counter()
    response = client.send(request)
    if response.status_code != expect:
        raise RuntimeError(f"{request.method} {request.url.path}: {response.status_code} {response.text[:300]}")
    return time.perf_counter() - started


def _medians(base: str, repeat: int) -> tuple[float, float]:
    """Median seconds of a claim write and of an admin SPARQL update."""
    claims, updates = [], []
    with httpx.Client(base_url=base, timeout=3600) as client:
        for i in range(repeat):
            claim = {"source": "poems-cause-summary", "key": f"bench-write-{i}", "subject": "MONDO:0017364",
                     "subject_label": "POEMS syndrome", "predicate": "biolink:has_attribute", "object": "MONDO:0021136",
                     "quote": "rare", "note": f"Benchmark write {i}."}
            claims.append(_timed(client.build_request("POST", "/api/v1/claims", json=claim, headers=AUTH), client, 201))
            update = (f'INSERT DATA {{ GRAPH <{ONTOLOGY}> {{ <http://purl.obolibrary.org/obo/MONDO_0017364> '
                      f'<http://www.w3.org/2004/02/skos/core#altLabel> "benchmark label {i}"@en }} }}')
            updates.append(_timed(client.build_request("POST", "/sparql", content=update, headers={
                **AUTH, "Content-Type": "application/sparql-update"}), client, 200))
    return statistics.median(claims), statistics.median(updates)


def _writing(base: str, until: float, per_second: float, done: list[tuple[float, float]]) -> None:
    """Add claims about POEMS syndrome at ``per_second`` until ``until``, each on time whether or not the one before has
    been answered (arrivals at a fixed rate, as from several clients); when each was answered, and its seconds, go to
    ``done``."""
    def write(number: int) -> None:
        claim = {"source": "poems-cause-summary", "key": f"bench-read-write-{number}", "subject": "MONDO:0017364",
                 "subject_label": "POEMS syndrome", "predicate": "biolink:has_attribute", "object": "MONDO:0021136",
                 "quote": "rare", "note": f"Benchmark write {number} under reads."}
        seconds = _timed(client.build_request("POST", "/api/v1/claims", json=claim, headers=AUTH), client, 201)
        done.append((time.monotonic(), seconds))

    start = time.monotonic()
    with httpx.Client(base_url=base, timeout=600) as client, ThreadPoolExecutor(16) as pool:
        number = 0
        while (due := start + number / per_second) < until:
            time.sleep(max(0.0, due - time.monotonic()))
            pool.submit(write, number)
            number += 1


def _reads_under_writes(base: str, size: int, seconds: float) -> None:
    """wrk over the entity documents and JSON, alone and while 5 claims a second are written; print both."""
    named = synthetic_entities(size)
    paths = [*(f"/entity/{c}.ttl" for c in named), *(f"/api/v1/entities/{c}" for c in named), "/entity/MONDO:0017364.ttl",
             "/api/v1/entities/MONDO:0017364/claims", "/api/v1/conditions/MONDO:0017364/etiology"]
    known = []
    for path in paths:  # warm, in every serving process: first answers are bench http's subject
        with contextlib.suppress(RuntimeError):  # at small sizes some of the workload's entities have no claim
            _warm(base, Request("GET", [path], None, ""), {"Accept": "*/*"})
            known.append(path)
    paths = known
    alone = run(base, "GET", paths, seconds, 16, headers={"Accept": "*/*"})
    done: list[tuple[float, float]] = []
    until = time.monotonic() + seconds
    writer = threading.Thread(target=_writing, args=(base, until, 5.0, done))
    writer.start()
    loaded = run(base, "GET", paths, seconds, 16, headers={"Accept": "*/*"})
    writer.join()
    answered = sum(1 for at, _ in done if at <= until)  # within the run: a server that falls behind answers fewer
    print(f"{'':>9} reads ({len(paths)} paths, wrk -c16 {seconds:g} s): alone {alone[0]:,.0f} req/s, p50 {alone[1]:.1f} ms, "
          f"p99 {alone[2]:.1f} ms; with {answered / seconds:.1f} claim writes/s answered of 5 arriving (median "
          f"{statistics.median(s for _, s in done):.3f} s): "
          f"{loaded[0]:,.0f} req/s, p50 {loaded[1]:.1f} ms, p99 {loaded[2]:.1f} ms")


def writes(sizes: list[int], repeat: int, seconds: float) -> None:
    """Print the median claim-write and admin-update times per size, and their ratio to the first size."""
    settings = get_settings()
    seed = build(settings.kg_dir, settings.base_iri).quads
    print(f"median of {repeat} writes each, over HTTP to `poems-kg serve` on an on-disk store (seed + synthetic claims)")
    print(f"{'claims':>9} {'quads':>11} {'claim write s':>14} {'ratio':>6} {'admin update s':>15} {'ratio':>6}")
    first: tuple[float, float] | None = None
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="poems-kg-writes-") as folder:
            store = Store(str(Path(folder) / "store"))
            store.bulk_extend([*seed, *synthetic_quads(n, Namespaces(settings.base_iri))])
            store.flush()
            size = len(store)
            del store
            port = free_port()
            env = os.environ | {"POEMS_KG_STORE_PATH": str(Path(folder) / "store"), "POEMS_KG_TOKENS": f'["{ENTRY}"]',
                                "POEMS_KG_REASON_ON_START": "false"}
            base = f"http://127.0.0.1:{port}"
            with _serving([str(Path(sys.executable).parent / "poems-kg"), "serve", "--port", str(port)],
                          base + "/sparql", "poems-kg", env):
                claim, update = _medians(base, repeat)
                _reads_under_writes(base, n, seconds)
        first = first or (claim, update)
        print(f"{n:>9,} {size:>11,} {claim:>14.3f} {claim / first[0]:>6.1f} {update:>15.3f} {update / first[1]:>6.1f}")
