"""The installed CLI curates the folder its user works in, not the copy of the seed inside the package.

The package is installed for real (``pip install --no-deps --target``, not editable) into a temporary folder, so the
packaged ``kg/`` is not the checkout's; the commands run from a curator's own folder.
"""

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import KG_DIR

ROOT = Path(__file__).resolve().parent.parent
CLAIMS = Path("kg") / "claims" / "poems-cause-summary.yaml"
RARE_QUOTE = 'quote: "POEMS syndrome is a rare paraneoplastic disorder"'


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The ``poems-kg`` command of a non-editable install (its dependencies are this environment's)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(target), str(ROOT)], check=True, capture_output=True, timeout=600)
    assert (target / "kg" / "claims").is_dir(), "the seed is packaged"
    yield target


def poems_kg(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; sys.path.insert(0, sys.argv.pop(1)); from pipeline.cli import main; sys.argv[0] = 'poems-kg'; main()"
    return subprocess.run([sys.executable, "-c", code, str(site), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def curator_folder(root: Path) -> Path:
    """A curator's working folder: ``kg/`` with their own sources and claims (no mappings: the packaged ones serve)."""
    for part in ("sources", "claims"):
        shutil.copytree(KG_DIR / part, root / "kg" / part)
    return root


def test_an_error_in_the_curators_own_folder_is_reported_with_its_file_and_line(installed: Path, tmp_path: Path) -> None:
    work = curator_folder(tmp_path / "work")
    claims = work / CLAIMS
    text = claims.read_text()
    at = text.index(RARE_QUOTE, text.index("key: poems-is-rare"))
    claims.write_text(text[:at] + 'quote: "POEMS syndrome is a common disorder"' + text[at + len(RARE_QUOTE):])
    line = text[:at].count("\n") + 1
    result = poems_kg(installed, work, "validate")
    assert result.returncode == 1
    reported = result.stderr.replace("\n", "")
    assert f"{work / CLAIMS}:{line}:" in reported and "poems-is-rare" in reported
    elsewhere = poems_kg(installed, tmp_path, "validate", "--kg-dir", str(work / "kg"))
    assert elsewhere.returncode == 1 and f"{line}:" in elsewhere.stderr


def test_the_curators_edit_is_what_gets_built(installed: Path, tmp_path: Path) -> None:
    work = curator_folder(tmp_path / "work")
    claims = work / CLAIMS
    claims.write_text(claims.read_text().replace("note: Rarity stated in the same clause.",
                                                 "note: Rarity stated in the same clause (checked by the curator)."))
    result = poems_kg(installed, work, "build", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "checked by the curator" in (tmp_path / "out" / "dataset.nq").read_text()


def test_without_a_curated_folder_the_packaged_seed_is_used(installed: Path, tmp_path: Path) -> None:
    result = poems_kg(installed, tmp_path, "query", "SELECT (COUNT(*) AS ?n) WHERE { ?c a <http://www.nanopub.org/nschema#Nanopublication> }",
                      "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) > 30
