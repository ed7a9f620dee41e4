"""Durability: a server killed with SIGKILL in the middle of a stream of writes loses no acknowledged write and
leaves no partial one; a bulk import or a restore killed at any moment leaves its data wholly there or absent. Real
child processes on an on-disk store, because the point is what survives the process."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, parse, serialize

from api.app import open_store
from bench.reliability import kill_during_writes
from kg.settings import Settings
from kg.store import KGStore, OxigraphStore, RemoteStore, select_rows
from pipeline.build import Build
from pipeline.bulk import GRAPH_SIZE
from tests.conftest import KG_DIR, oxigraph_server_process
from tests.test_bulk_import import ontology_file

TEXT = (KG_DIR / "sources" / "poems-cause-summary" / "text.txt").read_text(encoding="utf-8")


def test_sigkill_mid_stream_loses_no_acknowledged_write(tmp_path: Path) -> None:
    """The same run as the reliability report's (``bench.reliability.kill_during_writes``)."""
    kept = kill_during_writes(tmp_path, 8, TEXT)
    assert kept.acknowledged >= 8
    assert kept.lost == 0, "an acknowledged write was lost"
    assert kept.partial == 0, "a write was left partial"
    assert kept.unacknowledged <= 1, "at most the write in flight, whole, when the server died"
    assert kept.stranded >= 1 and kept.left_behind == 0, "the killed server's snapshots, deleted by the next server"


def run_killed(argv: list[str], when: Callable[[], bool], grace_s: float, log: Path,
               env: dict[str, str] | None = None) -> None:
    """Start a CLI command, wait until ``when()`` holds (polled), let it run ``grace_s`` more, then SIGKILL it."""
    process = subprocess.Popen([str(Path(sys.executable).parent / "poems-kg"), *argv], stdout=log.open("w"),
                               stderr=subprocess.STDOUT,
                               env=os.environ | {"POEMS_KG_REASON_ON_START": "false"} | (env or {}))
    try:
        deadline = time.monotonic() + 300
        while not when():
            assert process.poll() is None, f"the command ended before it could be killed: {log.read_text()[-500:]}"
            assert time.monotonic() < deadline, "the command did not reach the point to kill it at"
            time.sleep(0.05)
        time.sleep(grace_s)
        assert process.poll() is None, "the command ended before it could be killed"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()


def graph_size(store: KGStore, graph: str) -> int:
    return int(select_rows(store.query(GRAPH_SIZE.format(graph=graph)))[0]["n"])


@pytest.mark.parametrize("backend", ["embedded", "oxigraph-server"])
def test_sigkill_during_a_bulk_import_leaves_the_graph_absent_then_whole(tmp_path: Path, backend: str) -> None:
    """An import is not one transaction (Oxigraph's bulk loader; batches of INSERT DATA to a server): killed after
    it wrote triples but before it ended, the import's journal lets the service's next start undo it."""
    graph, folder = "https://w3id.org/poems-kg/graph/import/test-ontology", tmp_path / "store"
    path = ontology_file(tmp_path, 200_000)
    whole = sum(1 for _ in parse(path=str(path), format=RdfFormat.RDF_XML))
    with contextlib.ExitStack() as stack:
        if backend == "embedded":
            settings, where, env = Settings(store_path=folder, reason_on_start=False), ["--store", str(folder)], {}
        else:  # a real server, because its writes come over HTTP from the killed process
            url = stack.enter_context(oxigraph_server_process(tmp_path / "server"))
            env = {"POEMS_KG_SPARQL_ENDPOINT": f"{url}/query", "POEMS_KG_SPARQL_UPDATE_ENDPOINT": f"{url}/update"}
            settings, where = Settings(sparql_endpoint=f"{url}/query", sparql_update_endpoint=f"{url}/update",
                                       reason_on_start=False), []

        def reader() -> KGStore:  # read beside the importing process
            return OxigraphStore.read_only(folder) if backend == "embedded" else RemoteStore.from_settings(settings)

        def loading() -> bool:
            try:
                return graph_size(reader(), graph) > 0
            except (OSError, RuntimeError):  # not created yet
                return False

        argv = ["import", str(path), *where, "--graph", graph]
        run_killed(argv, loading, 0, tmp_path / "import.log", env)
        assert 0 < graph_size(reader(), graph) <= whole, "killed after the import wrote"
        store = open_store(settings)  # the service's start
        assert graph_size(store, graph) == 0, "the killed import's triples are still there after the start"
        del store

        done = subprocess.run([str(Path(sys.executable).parent / "poems-kg"), *argv], capture_output=True, text=True,
                              env=os.environ | env)
        assert done.returncode == 0, done.stderr
        assert graph_size(reader(), graph) == whole


def test_sigkill_during_a_restore_leaves_the_dump_absent_or_whole(tmp_path: Path, seed: Build) -> None:
    """A restore validates the dump, then loads it in one transaction: killed at any moment, it is all there or none."""
    dump = tmp_path / "dump.nq"
    bulk = [Quad(NamedNode(f"https://example.org/s{i}"), NamedNode("https://example.org/p"), Literal(f"value {i}"),
                 NamedNode("https://w3id.org/poems-kg/graph/import/bulk")) for i in range(150_000)]
    dump.write_bytes(serialize([*seed.quads, *bulk], format=RdfFormat.N_QUADS) or b"")
    whole = len(seed.quads) + len(bulk)

    start = time.monotonic()
    done = subprocess.run([str(Path(sys.executable).parent / "poems-kg"), "load", "--store", str(tmp_path / "timed"),
                           "--from", str(dump)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    seconds = time.monotonic() - start
    assert len(OxigraphStore.read_only(tmp_path / "timed")) == whole

    found = []
    for fraction in (0.6, 0.8, 0.95):
        folder = tmp_path / f"killed-{fraction}"
        try:
            run_killed(["load", "--store", str(folder), "--from", str(dump)], lambda: True, fraction * seconds,
                       tmp_path / "load.log")
        except AssertionError:
            continue  # it finished first this time: nothing to check
        found.append(len(OxigraphStore.read_only(folder)) if (folder / "CURRENT").exists() else 0)
    assert found and set(found) <= {0, whole}, f"a killed restore left {found} quads (whole: {whole})"
