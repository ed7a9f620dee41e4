"""The embedded store's disk fills up during a write: a clear 507, nothing written, reads go on, and writes succeed
again once space is freed. A real filesystem of a few MB (tmpfs, mounted for the test), because the point is what
the storage engine does when the disk itself refuses to write; mounting needs root, as on the CI machine."""

import gc
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kg.settings import Settings
from kg.store import OxigraphStore
from pipeline.build import Build
from tests.conftest import TOKEN_ENTRIES, contents

WRITER = {"Authorization": "Bearer w-secret"}
ADMIN = {"Authorization": "Bearer a-secret"}


def claim(key: str, quote: str) -> dict[str, str]:
    return {"source": "poems-cause-summary", "key": key, "subject": "MONDO:0017364", "subject_label": "POEMS syndrome",
            "predicate": "biolink:has_attribute", "object": "MONDO:0021136", "quote": quote, "note": "Disk-full test."}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 32 MB filesystem of its own, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk: Path) -> Path:
    """Fill the filesystem to the last byte with one file (appending: a second call takes what was freed since)."""
    filler = disk / "filler"
    with filler.open("ab", buffering=0) as out:
        for chunk in (b"\0" * 65536, b"\0"):  # large blocks, then the last bytes one at a time
            try:
                while True:
                    out.write(chunk)
            except OSError:
                pass
    return filler


def test_a_full_disk_refuses_the_write_and_the_store_recovers(small_disk: Path, seed: Build) -> None:
    store = OxigraphStore(small_disk / "store")
    store.load(seed.quads)
    store.flush()
    with TestClient(create_app(Settings(tokens=TOKEN_ENTRIES, reason_on_start=False), store=store)) as client:
        before = contents(store)
        fill(small_disk)
        time.sleep(1)  # the storage engine may still free space it no longer uses (a compaction ending): take it too
        filler = fill(small_disk)
        refused = client.post("/api/v1/claims", json=claim("disk-full-1", "rare"), headers=WRITER)
        assert refused.status_code == 507, refused.text
        assert "disk of the store is full" in refused.json()["detail"] and "nothing was written" in refused.json()["detail"]
        update = client.post("/sparql", data={"update": "INSERT DATA { GRAPH <https://example.org/g> { "
                                                        "<https://example.org/s> <https://example.org/p> 1 } }"},
                             headers=ADMIN)
        assert update.status_code == 507, update.text
        assert contents(store) == before, "a refused write changed the store"
        assert client.get("/api/v1/entities/MONDO:0017364").status_code == 200, "reads go on while the disk is full"

        os.remove(filler)
        written = client.post("/api/v1/claims", json=claim("disk-full-2", "rare"), headers=WRITER)
        assert written.status_code == 201, written.text
        iri = written.json()["iri"]
        assert client.get(iri.removeprefix("https://w3id.org/poems-kg"), headers={"Accept": "application/trig"}).status_code == 200
    store.flush()
    del client, store  # closed, as at a restart: a store opened read-only beside its writer may miss the files the
    gc.collect()       # writer's compaction replaces meanwhile
    reopened = OxigraphStore.read_only(small_disk / "store")  # what a restart finds on disk: the old data and the new claim
    assert before < contents(reopened)
    assert any(iri in line for line in contents(reopened))
