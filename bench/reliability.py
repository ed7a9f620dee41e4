"""Reliability report, one command: load held, faults injected and survived, bad inputs tried by kind, and acknowledged
writes lost when the server is killed (must be 0).

- Load: the traffic benchmark (reads, then reads with writes), 5xx answers and memory growth.
- Faults: the fault tests (``tests/test_faults.py``: the SPARQL server behind poems-kg answers 500, breaks the
  connection after a write, hangs, is down; ``tests/test_disk_full.py``: the embedded store's disk fills up;
  ``tests/test_durability.py``: SIGKILL during writes, a bulk import and a restore), each reported as survived or not.
- Bad inputs: the fuzzer (``bench.fuzz``), by kind.
- Memory and time: three sorted (or counted) cross products at once and a heavy admin update (``bench.memory``): the
  answers, and the peak memory of the server's process tree against its configured total.
- Writes lost: a real server on an on-disk store, SIGKILLed in the middle of a stream of claim writes, restarted;
  every acknowledged claim must be there, whole (its four graphs), and recorded; the folders the killed server left
  beside the store (its query workers' snapshots) must be gone once it is started again.
"""

import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.fuzz import fuzz
from bench.memory import attacks, workload_folder
from bench.sparql import _port as free_port
from bench.traffic import TOKEN, _start, traffic
from kg.settings import get_settings

FAULT_TESTS = ["tests/test_faults.py", "tests/test_disk_full.py", "tests/test_durability.py"]
PARTS = {"head", "assertion", "provenance", "pubinfo"}
GRAPHS = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
RECORDED = ("SELECT ?c WHERE { GRAPH <https://w3id.org/poems-kg/graph/writes> "
            "{ ?c <http://www.w3.org/ns/prov#wasAttributedTo> ?a } }")


@dataclass
class Killed:
    """What a server killed in the middle of a stream of writes kept."""

    acknowledged: int  # claim writes answered 201 before the kill
    lost: int  # of those, missing after the restart (must be 0)
    partial: int  # nanopublications with some of their four graphs missing (must be 0)
    unacknowledged: int  # claims present that were never acknowledged: at most the write in flight at the kill
    stranded: int  # folders the killed server left beside the store (its query workers' snapshots)
    left_behind: int  # of those, still there once the server is started again (must be 0)


def _rows(client: httpx.Client, query: str, var: str) -> set[str]:
    answer = client.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    answer.raise_for_status()
    return {b[var]["value"] for b in answer.json()["results"]["bindings"]}


def kill_during_writes(folder: Path, after: int, text: str) -> Killed:
    """Serve an on-disk store, write claims from a thread, SIGKILL the server after ``after`` acknowledgements,
    restart it on the same store and count what it kept."""
    port = free_port()
    server = _start(folder, port)
    acknowledged: list[str] = []
    enough = threading.Event()

    def write() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=30) as client:
            for i in range(after * 20):
                body = {"source": "poems-cause-summary", "key": f"{folder.name}-{i}", "subject": "MONDO:0017364",
                        "predicate": "biolink:associated_with", "object": "HP:0002715",
                        "quote": text[i * 37: i * 37 + 30], "note": "Durability write."}
                try:
                    response = client.post("/api/v1/claims", json=body)
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code != 201:
                    raise RuntimeError(f"write {i} answered {response.status_code}: {response.text}")
                acknowledged.append(response.json()["iri"])
                if len(acknowledged) >= after:
                    enough.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        if not enough.wait(120):
            raise RuntimeError(f"the server did not acknowledge {after} writes")
    finally:
        server.kill()
        server.wait()
        writer.join(60)
    stranded = set(folder.glob("poems-kg-*"))
    server = _start(folder, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            parts: dict[str, set[str]] = {}
            for graph in _rows(client, GRAPHS, "g"):
                iri, _, part = graph.partition("#")
                if "/np/" in iri:
                    parts.setdefault(iri, set()).add(part)
            recorded = _rows(client, RECORDED, "c")
    finally:
        server.terminate()
        server.wait(30)
    whole = {iri for iri, has in parts.items() if has == PARTS} & recorded
    return Killed(len(acknowledged), len(set(acknowledged) - whole), sum(1 for has in parts.values() if has != PARTS),
                  len(recorded - set(acknowledged)), len(stranded), sum(1 for f in stranded if f.exists()))


def fault_tests() -> dict[str, str]:
    """Run the fault tests; each test's name and "survived", "FAILED" or "skipped: why"."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "faults.xml"
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                        *FAULT_TESTS], capture_output=True, check=False)
        outcomes = {}
        for case in ET.parse(report).getroot().iter("testcase"):
            skipped = case.find("skipped")
            failed = case.find("failure") if case.find("failure") is not None else case.find("error")
            outcomes[case.get("name", "")] = ("FAILED" if failed is not None else
                                              f"skipped: {skipped.get('message')}" if skipped is not None else "survived")
    return outcomes


def reliability(seconds: float, count: int, kills: int) -> None:
    """Print the report; exits non-zero if load gave a 5xx, a fault was not survived, fuzzing found anything, an
    acknowledged write was lost or a killed server's folders outlived its restart."""
    text = (get_settings().kg_dir / "sources" / "poems-cause-summary" / "text.txt").read_text(encoding="utf-8")
    print("== load ==")
    held = traffic(seconds, 16, 2)
    print("\n== bad inputs ==")
    fuzzed = fuzz(count, 1)
    print("\n== faults ==")
    faults = fault_tests()
    for name, outcome in faults.items():
        print(f"  {outcome:>9}  {name}")
    print("\n== queries that would take the server's memory or time, three at once (seed) ==")
    with tempfile.TemporaryDirectory(prefix="poems-kg-attack-") as folder:
        workload_folder(Path(folder), "seed")
        attacks(Path(folder), "seed")
    print("\n== writes acknowledged, then the server killed (SIGKILL) ==")
    rounds = []
    with tempfile.TemporaryDirectory(prefix="poems-kg-kill-") as folder:
        for k in range(kills):
            (Path(folder) / f"round-{k}").mkdir()
            rounds.append(kill_during_writes(Path(folder) / f"round-{k}", 5 + 3 * k, text))
            print(f"  round {k + 1}: {rounds[-1]}")
    lost = sum(r.lost + r.partial for r in rounds)
    left = sum(r.left_behind for r in rounds)
    print("\n== report ==")
    print(f"load held: {', '.join(f'{name} {rate:.0f} req/s' for name, rate in held.per_second.items())}; "
          f"{held.writes} writes; {held.server_errors} 5xx; server memory {held.rss_growth_mb:+.0f} MB")
    survived = sum(1 for o in faults.values() if o == "survived")
    print(f"faults injected: {len(faults)}; survived: {survived}; "
          f"not run: {sum(1 for o in faults.values() if o.startswith('skipped'))}")
    print(f"bad inputs tried: {sum(fuzzed.tried.values())} "
          f"({', '.join(f'{kind} {n}' for kind, n in fuzzed.tried.items())}); findings: {len(fuzzed.findings)}")
    print(f"acknowledged writes: {sum(r.acknowledged for r in rounds)} over {kills} kills; lost or partial: {lost}; "
          f"folders of a killed server left after the restart: {left} of {sum(r.stranded for r in rounds)}")
    if held.server_errors or survived != len(faults) or fuzzed.findings or lost or left:
        raise SystemExit("reliability: something was not survived")
