"""Shared fixtures: the seed knowledge graph built once per test session, editable copies of kg/, a real server."""

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pyoxigraph import RdfFormat

from api.app import create_app
from bench.virtuoso import virtuoso
from kg.settings import DEFAULT_BASE_IRI, PACKAGE_ROOT, Settings
from kg.store import KGStore, OxigraphStore, RemoteStore, select_rows
from kg.tokens import token_entry
from pipeline.build import Build, build

KG_DIR = PACKAGE_ROOT / "kg"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def seed() -> Build:
    return build(KG_DIR, DEFAULT_BASE_IRI)


@pytest.fixture(scope="session")
def store(seed: Build) -> OxigraphStore:
    s = OxigraphStore()
    s.load(seed.quads)
    return s


def wait_until_up(process: subprocess.Popen[bytes], url: str, what: str, seconds: float, log: Path | None = None) -> None:
    """Poll ``url`` until it answers 2xx; fail if the process exits first or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, f"{what} exited: {log.read_text() if log else ''}"
        try:
            if httpx.get(url).is_success:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{what} did not start within {seconds} s"
        time.sleep(0.1)


@contextmanager
def module_folder(factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """A new folder, deleted when the module's fixture ends (a test's own ``tmp_path`` goes when the test passes).

    A server's write-ahead logs reach a GB over a module's resets; kept to the end, every worker's would fill a small disk.
    """
    folder = factory.mktemp(name)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def oxigraph_server_process(folder: Path, union_default_graph: bool = True) -> Iterator[str]:
    """A real Oxigraph server (the `oxigraph` package) on a free loopback port over ``folder``; yields its URL.

    A server is needed because the remote backend speaks the SPARQL 1.1 protocols over HTTP to a separate process.
    """
    port = free_port()
    union = ["--union-default-graph"] if union_default_graph else []
    process = subprocess.Popen([str(Path(sys.executable).parent / "oxigraph"), "serve", "--location", str(folder),
                                "--bind", f"127.0.0.1:{port}", *union, "--timeout-s", "30"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, url + "/query?query=ASK%7B%7D", "the Oxigraph server", 30)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def virtuoso_server_process(folder: Path) -> Iterator[str]:
    """Virtuoso open source on free loopback ports, SPARQL Update granted (``bench.virtuoso``); yields its SPARQL URL.

    The second server of the remote backend, in the optional target ``make test-virtuoso``.
    """
    with virtuoso(folder, writable=True) as url:
        yield url


def emptied(remote: RemoteStore, seed: Build) -> RemoteStore:
    """``remote`` holding the seed alone (the server's own system graphs, if any, stay)."""
    for row in select_rows(remote.query(f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {remote._ours()} }}")):
        remote.update(f"DROP SILENT GRAPH <{row['g']}>")
    remote.load(seed.quads)
    return remote


@pytest.fixture(scope="session")
def virtuoso_server(tmp_path_factory: pytest.TempPathFactory, seed: Build) -> Iterator[RemoteStore]:
    """The remote backend on Virtuoso, holding the seed."""
    with virtuoso_server_process(tmp_path_factory.mktemp("virtuoso")) as url:
        yield emptied(RemoteStore(url, url, dialect="virtuoso"), seed)


# The servers every API test runs on; Virtuoso only in the optional target (make test-virtuoso).
BACKENDS = ["embedded", "oxigraph-server", *(["virtuoso"] if os.environ.get("POEMS_KG_TEST_VIRTUOSO") else [])]
SERVERS = {"oxigraph-server": "oxigraph", "virtuoso": "virtuoso"}


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory, seed: Build) -> Iterator[RemoteStore]:
    """The remote backend: an Oxigraph server holding the seed, reached through ``RemoteStore``."""
    with oxigraph_server_process(tmp_path_factory.mktemp("oxigraph")) as url:
        remote = RemoteStore(url + "/query", url + "/update")
        remote.load(seed.quads)
        yield remote


@pytest.fixture(scope="module")
def scratch_oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteStore]:
    """An Oxigraph server of its own for the tests of one module that write to it."""
    with module_folder(tmp_path_factory, "scratch-oxigraph") as folder, oxigraph_server_process(folder) as url:
        yield RemoteStore(url + "/query", url + "/update", graph_store_url=url + "/store")


@pytest.fixture(scope="module")
def scratch_virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteStore]:
    """A Virtuoso server of its own for the tests of one module that write to it."""
    with module_folder(tmp_path_factory, "scratch-virtuoso") as folder, virtuoso_server_process(folder) as url:
        yield RemoteStore(url, url, dialect="virtuoso", graph_store_url=url + "-graph-crud")


@pytest.fixture(params=BACKENDS)
def writable_store(request: pytest.FixtureRequest, seed: Build) -> KGStore:
    """A store holding the seed that a test may write to: embedded, and real servers (reset for each test)."""
    if request.param == "embedded":
        store = OxigraphStore()
        store.load(seed.quads)
        return store
    return emptied(request.getfixturevalue(f"scratch_{SERVERS[request.param]}"), seed)


@pytest.fixture(params=[backend for backend in BACKENDS if backend in SERVERS])
def server_store(request: pytest.FixtureRequest, seed: Build) -> RemoteStore:
    """A real server holding the seed that a test may write to (reset for each test), Graph Store Protocol configured."""
    return emptied(request.getfixturevalue(f"scratch_{SERVERS[request.param]}"), seed)


# Bearer tokens of the write tests: name -> (scope, token); the server gets only their hashes.
TEST_TOKENS = {"writer": ("write", "w-secret"), "reader": ("read", "r-secret"), "root": ("admin", "a-secret")}
TOKEN_ENTRIES = [token_entry(name, scope, token) for name, (scope, token) in TEST_TOKENS.items()]  # the settings' form


@pytest.fixture(scope="module")
def seed_client(store: OxigraphStore) -> Iterator[TestClient]:
    """The app over the seed in the embedded store (no reasoning), for tests that only read."""
    with TestClient(create_app(Settings(reason_on_start=False), store=store)) as client:
        yield client


@pytest.fixture
def write_client(writable_store: KGStore) -> Iterator[TestClient]:
    """The app over a store it may write to, with the test tokens configured."""
    with TestClient(create_app(Settings(tokens=TOKEN_ENTRIES, reason_on_start=False), store=writable_store)) as client:
        yield client


def contents(store: KGStore) -> set[str]:
    """Every quad of a store as N-Quads lines (order-free, so that stores compare byte for byte)."""
    return set(store.dump(RdfFormat.N_QUADS).decode().splitlines())


@pytest.fixture(scope="session", params=BACKENDS)
def api_store(request: pytest.FixtureRequest, store: OxigraphStore) -> KGStore:
    """The store behind the API tests: every API test runs on the embedded store and on real servers."""
    if request.param == "embedded":
        return store
    remote: RemoteStore = request.getfixturevalue(f"{SERVERS[request.param]}_server")
    return remote


@pytest.fixture
def kg_copy(tmp_path: Path) -> Path:
    """A copy of the curated sources, claims and mappings that a test may edit."""
    target = tmp_path / "kg"
    for part in ("sources", "claims", "mappings"):
        shutil.copytree(KG_DIR / part, target / part)
    return target


def add_second_opinion(kg_dir: Path) -> None:
    """Add the fixture source that disputes a statement the seed supports (``tests/fixtures/second-opinion``)."""
    for part in ("sources", "claims"):
        shutil.copytree(FIXTURES / "second-opinion" / part, kg_dir / part, dirs_exist_ok=True)


def append_claims(kg_dir: Path, yaml_entries: str) -> None:
    """Append claim entries (YAML list items, two-space indented) to the seed claims file."""
    path = kg_dir / "claims" / "poems-cause-summary.yaml"
    path.write_text(path.read_text() + yaml_entries)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(tmp_path: Path, **settings: str) -> Iterator[str]:
    """``poems-kg serve`` as a child process on a free loopback port, settings as POEMS_KG_* variables; yields its URL."""
    port = free_port()
    env = os.environ | {f"POEMS_KG_{k.upper()}": v for k, v in settings.items()}
    log = (tmp_path / f"server-{port}.log").open("w")
    script = Path(sys.executable).parent / "poems-kg"
    process = subprocess.Popen([str(script), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, url + "/sparql", "poems-kg serve", 60, tmp_path / f"server-{port}.log")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
