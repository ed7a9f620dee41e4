"""Memory under attack and the fixed queries' peaks: ``python -m bench memory --sizes seed,100000``.

- Attacks, on ``poems-kg serve`` with its default limits and on a bare Oxigraph server holding the same quads (which
  bounds neither time nor memory; stopped when poems-kg's time limit has passed): three sorted cross products at once
  (memory), three counted cross products at once (time), and on poems-kg a heavy admin update. The resident memory
  of each server's whole process tree is sampled every 100 ms; printed: the answers, their seconds (median), the
  tree's memory before and at its peak, and poems-kg's configured total.
- Fixed queries (pages, JSON, FHIR, CDS Hooks), each requested once with no kept answer, one after the other: the
  main process's resident memory before and at its peak, sampled every 10 ms.
"""

import hashlib
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from pyoxigraph import Store

from bench.http import BIN, _serving, _workload, listening, tree
from bench.sparql import _port as free_port
from kg.limits import machine_memory, mib, service_total
from kg.settings import Settings

TOKEN = "memory-bench-secret"
ENTRY = f"bench:admin:{hashlib.sha256(TOKEN.encode()).hexdigest()}"
SORTED = "SELECT ?a ?c ?f WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f LIMIT 1"
COUNTED = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }"
UPDATE = ("INSERT { GRAPH <urn:x:g> { <urn:x:s> <urn:x:p> ?c } } WHERE { SELECT ?c WHERE { GRAPH ?g { ?a ?b ?c } "
          "GRAPH ?h { ?d ?e ?f } } ORDER BY ?c ?f LIMIT 1 }")


@dataclass
class Attack:
    """What one attack got from one server."""

    answers: list[str]  # status and the limit named, per request
    median_s: float
    before_mib: float
    peak_mib: float


@contextmanager
def sampled(pids: Callable[[], list[int]], every_s: float) -> Iterator[list[float]]:
    """Sample the summed resident memory of ``pids()`` every ``every_s``; yields ``[first, peak]`` in MiB."""
    figures, done = [0.0, 0.0], threading.Event()

    def rss() -> float:
        total = 0
        for pid in pids():
            try:
                total += psutil.Process(pid).memory_info().rss
            except psutil.Error:
                pass
        return total / 2**20

    figures[0] = figures[1] = rss()

    def sample() -> None:
        while not done.wait(every_s):
            figures[1] = max(figures[1], rss())

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        yield figures
    finally:
        done.set()
        sampler.join()
        figures[1] = max(figures[1], rss())


def _one(call: Callable[[], httpx.Response]) -> tuple[str, float]:
    started = time.perf_counter()
    try:
        response = call()
    except httpx.HTTPError as exc:
        return f"no answer ({type(exc).__name__})", time.perf_counter() - started
    detail = response.text
    named = "memory limit" if "memory limit" in detail else "time limit" if "time limit" in detail else ""
    return f"{response.status_code} {named}".strip(), time.perf_counter() - started


def attack(pid: int, calls: list[Callable[[], httpx.Response]]) -> Attack:
    """Make ``calls`` at once while sampling the tree of ``pid``."""
    with sampled(tree(pid), 0.1) as figures, ThreadPoolExecutor(len(calls)) as pool:
        results = list(pool.map(_one, calls))
    time.sleep(0.5)
    return Attack([r[0] for r in results], statistics.median(r[1] for r in results), figures[0], figures[1])


def _print(name: str, server: str, result: Attack, total: str) -> None:
    answers = ", ".join(f"{n} x {answer}" for answer, n in Counter(result.answers).items())
    print(f"{name:>26} {server:>14} {answers:>40} {result.median_s:>6.1f} {result.before_mib:>8.0f} "
          f"{result.peak_mib:>8.0f} {total:>8}")


def attacks(folder: Path, size: str) -> None:
    """The three attacks on poems-kg and the two queries on the bare server, on the on-disk store ``folder``."""
    settings = Settings()
    total = mib(service_total(settings, machine_memory()))
    print(f"{'attack':>26} {'server':>14} {'answers':>40} {'med s':>6} {'MiB at 0':>8} {'peak MiB':>8} {'total':>8}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {"POEMS_KG_STORE_PATH": str(folder / "poems-kg"), "POEMS_KG_REASON_ON_START": "false",
                        "POEMS_KG_TOKENS": f'["{ENTRY}"]'}
    timeout = settings.query_timeout_s + 30
    with _serving([str(BIN / "poems-kg"), "serve", "--port", str(port)], base + "/sparql", "poems-kg", env):
        pid = listening(port)
        for name, query in (("3 sorted cross products", SORTED), ("3 counted cross products", COUNTED)):
            call = lambda q=query: httpx.get(base + "/sparql", params={"query": q}, timeout=timeout)  # noqa: E731
            _print(name, "poems-kg", attack(pid, [call] * 3), total)
        update = lambda: httpx.post(base + "/sparql", content=UPDATE, timeout=timeout,  # noqa: E731
                                    headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-update"})
        _print("heavy admin update", "poems-kg", attack(pid, [update]), total)
    peer = free_port()
    url = f"http://127.0.0.1:{peer}"
    for name, query in (("3 sorted cross products", SORTED), ("3 counted cross products", COUNTED)):
        with _serving([str(BIN / "oxigraph"), "serve-read-only", "--location", str(folder / "oxigraph"), "--bind",
                       f"127.0.0.1:{peer}", "--union-default-graph"], url + "/query?query=ASK%7B%7D", "oxigraph"):
            call = lambda q=query: httpx.get(url + "/query", params={"query": q},  # noqa: E731
                                             timeout=settings.query_timeout_s)
            _print(name, "bare Oxigraph", attack(listening(peer), [call] * 3), "none")


def fixed_queries(folder: Path, size: str) -> None:
    """Each fixed request once, the main process's resident memory before and at its peak."""
    # each request about the first of its entities: the largest (a hub)
    requests = {name: (r.method, r.paths[0], r.body) for name, r in _workload(size).requests().items()}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {"POEMS_KG_STORE_PATH": str(folder / "poems-kg"), "POEMS_KG_REASON_ON_START": "false",
                        "POEMS_KG_ANSWER_CACHE_ENTRIES": "0"}
    pages = {"entity page .html": ("GET", requests["entity document .ttl"][1].replace(".ttl", ".html"), None),
             "source page .html": ("GET", requests["source document .ttl"][1].replace(".ttl", ".html"), None)}
    print(f"{'fixed request':>30} {'status':>7} {'ms':>8} {'MiB at 0':>9} {'peak MiB':>9} {'+ MiB':>7}")
    with _serving([str(BIN / "poems-kg"), "serve", "--port", str(port)], base + "/sparql", "poems-kg", env):
        pid = listening(port)
        for name, (method, path, body) in {**requests, **pages}.items():
            if name.startswith("sparql"):
                continue
            headers = {"Content-Type": "application/json"} if body else {}
            with sampled(lambda: [pid], 0.01) as figures:
                started = time.perf_counter()
                status = httpx.request(method, base + path, content=body, headers=headers, timeout=600).status_code
                millis = (time.perf_counter() - started) * 1000
            print(f"{name:>30} {status:>7} {millis:>8.0f} {figures[0]:>9.0f} {figures[1]:>9.0f} "
                  f"{figures[1] - figures[0]:>+7.0f}")


def workload_folder(folder: Path, size: str) -> None:
    """The quads of ``size`` in two on-disk stores, ``poems-kg`` and ``oxigraph``."""
    quads = _workload(size).quads
    for name in ("poems-kg", "oxigraph"):
        store = Store(str(folder / name))
        store.bulk_extend(quads)
        store.flush()
        del store


def memory(sizes: list[str]) -> None:
    """Print, per workload, the attacks and the fixed queries' peaks."""
    print(f"python {sys.version.split()[0]}; default limits: {Settings().query_workers} query workers, "
          f"{mib(Settings().query_memory_bytes)} each, time limit {Settings().query_timeout_s:g} s")
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="poems-kg-memory-") as folder:
            workload_folder(Path(folder), size)
            print(f"\nworkload: {size}")
            attacks(Path(folder), size)
            print()
            fixed_queries(Path(folder), size)

