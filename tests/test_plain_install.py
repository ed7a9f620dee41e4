"""A plain install: the wheel, without extras, in a fresh virtual environment, builds, validates, reasons and serves.

A fresh environment (its dependencies resolved by pip from the package's own metadata, not this checkout's), because a
missing core dependency shows only there: a user's ``pip install poems-kg`` is all it has.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, module_folder, wait_until_up

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The ``bin`` folder of a new venv holding the wheel and only its core dependencies."""
    with module_folder(tmp_path_factory, "plain") as work:
        yield install(work)


def install(work: Path) -> Path:
    """Build the wheel into ``work`` and install it into a new venv there; return the venv's ``bin``."""
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(work / "wheel"), str(ROOT)],
                           capture_output=True, text=True, timeout=900, check=False)
    assert built.returncode == 0, built.stderr[-3000:]
    for warning in ("SetuptoolsDeprecationWarning", "would be ignored", "Installing '"):
        assert warning not in built.stdout + built.stderr, f"setuptools warns: {warning}"
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True, timeout=300)
    wheel = next((work / "wheel").glob("poems_kg-*.whl"))
    installed = subprocess.run([str(work / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
                               capture_output=True, text=True, timeout=900, check=False)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return work / "venv" / "bin"


def run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_dir / "poems-kg"), *args], cwd=cwd, capture_output=True, text=True, timeout=900, check=False)


def test_the_plain_install_builds_validates_and_reasons(fresh: Path, tmp_path: Path) -> None:
    built = run(fresh, tmp_path, "build", "--out", "out")
    assert built.returncode == 0, built.stderr[-3000:]
    assert (tmp_path / "out" / "dataset.trig").stat().st_size > 100_000, "the packaged seed, HPO rows included"
    validated = run(fresh, tmp_path, "validate")
    assert validated.returncode == 0, validated.stderr[-3000:]
    reasoned = run(fresh, tmp_path, "reason")
    assert reasoned.returncode == 0 and "consistent" in (reasoned.stdout + reasoned.stderr).lower(), reasoned.stderr[-3000:]


def test_the_plain_install_serves_a_query_and_a_dereference(fresh: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("POEMS_KG_")} | {"POEMS_KG_REASON_ON_START": "false"}
    with log.open("w") as out:
        process = subprocess.Popen([str(fresh / "poems-kg"), "serve", "--port", str(port)], cwd=tmp_path, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, url + "/sparql", "the installed poems-kg serve", 120, log)
        ask = httpx.get(url + "/sparql", params={"query": "ASK { ?claim a <http://www.nanopub.org/nschema#Nanopublication> }"},
                        headers={"Accept": "application/sparql-results+json"})
        assert ask.status_code == 200 and ask.json()["boolean"] is True
        entity = httpx.get(url + "/entity/MONDO:0017364", headers={"Accept": "text/turtle"}, follow_redirects=True)
        assert entity.status_code == 200 and "POEMS syndrome" in entity.text
    finally:
        process.terminate()
        process.wait(timeout=30)
