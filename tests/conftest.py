"""Shared fixtures: the seed knowledge graph built once per test session, editable copies of kg/, a real server."""

import hashlib
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
from kg.build import Build, build
from kg.settings import DEFAULT_BASE_IRI, PACKAGE_ROOT, Settings
from kg.store import KGStore, OxigraphStore, RemoteStore

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
def oxigraph_server_process(folder: Path) -> Iterator[str]:
    """A real Oxigraph server (the `oxigraph` package) on a free loopback port over ``folder``; yields its URL.

    A server is needed because the remote backend speaks the SPARQL 1.1 protocols over HTTP to a separate process.
    """
    port = free_port()
    process = subprocess.Popen([str(Path(sys.executable).parent / "oxigraph"), "serve", "--location", str(folder),
                                "--bind", f"127.0.0.1:{port}", "--union-default-graph", "--timeout-s", "30"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, url + "/query?query=ASK%7B%7D", "the Oxigraph server", 30)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


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
    with oxigraph_server_process(tmp_path_factory.mktemp("scratch-oxigraph")) as url:
        yield RemoteStore(url + "/query", url + "/update")


@pytest.fixture(params=["embedded", "oxigraph-server"])
def writable_store(request: pytest.FixtureRequest, seed: Build) -> KGStore:
    """A store holding the seed that a test may write to: embedded, and a real Oxigraph server (reset for each test)."""
    if request.param == "embedded":
        store = OxigraphStore()
        store.load(seed.quads)
        return store
    remote: RemoteStore = request.getfixturevalue("scratch_oxigraph")
    remote.update("CLEAR ALL")
    remote.load(seed.quads)
    return remote


# Bearer tokens of the write tests: name -> (scope, token); the server gets only their hashes.
TEST_TOKENS = {"writer": ("write", "w-secret"), "reader": ("read", "r-secret"), "root": ("admin", "a-secret")}


@pytest.fixture
def write_client(writable_store: KGStore) -> Iterator[TestClient]:
    """The app over a store it may write to, with the test tokens configured."""
    entries = [f"{name}:{scope}:{hashlib.sha256(token.encode()).hexdigest()}" for name, (scope, token) in TEST_TOKENS.items()]
    with TestClient(create_app(Settings(tokens=entries, reason_on_start=False), store=writable_store)) as client:
        yield client


def contents(store: KGStore) -> set[str]:
    """Every quad of a store as N-Quads lines (order-free, so that stores compare byte for byte)."""
    return set(store.dump(RdfFormat.N_QUADS).decode().splitlines())


@pytest.fixture(scope="session", params=["embedded", "oxigraph-server"])
def api_store(request: pytest.FixtureRequest, store: OxigraphStore) -> KGStore:
    """The store behind the API tests: every API test runs on the embedded store and on a real Oxigraph server."""
    if request.param == "embedded":
        return store
    remote: RemoteStore = request.getfixturevalue("oxigraph_server")
    return remote


@pytest.fixture
def kg_copy(tmp_path: Path) -> Path:
    """A copy of the curated sources, claims and mappings that a test may edit."""
    target = tmp_path / "kg"
    for part in ("sources", "claims", "mappings"):
        shutil.copytree(KG_DIR / part, target / part)
    return target


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
