"""Shared fixtures: the seed knowledge graph built once per test session, and editable copies of kg/."""

import shutil
from pathlib import Path

import pytest

from kg.build import Build, build
from kg.settings import DEFAULT_BASE_IRI, PACKAGE_ROOT
from kg.store import OxigraphStore

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


@pytest.fixture
def kg_copy(tmp_path: Path) -> Path:
    """A copy of the curated sources and claims that a test may edit."""
    target = tmp_path / "kg"
    shutil.copytree(KG_DIR / "sources", target / "sources")
    shutil.copytree(KG_DIR / "claims", target / "claims")
    return target


def append_claims(kg_dir: Path, yaml_entries: str) -> None:
    """Append claim entries (YAML list items, two-space indented) to the seed claims file."""
    path = kg_dir / "claims" / "poems-cause-summary.yaml"
    path.write_text(path.read_text() + yaml_entries)
