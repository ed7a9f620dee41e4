"""The upstream release files the import slices are read from.

``ontology/imports/releases.yaml`` pins each file: its URL (at a fixed release or commit), its SHA-256, what a term
read from it records as its source, and which slices read it. A file is downloaded once into a cache folder
(``~/.cache/poems-kg/releases`` or ``$XDG_CACHE_HOME``) and checked against its pin every time it is read; a mirror
folder laid out like the cache can be read instead (a ``SHA256SUMS`` file in it, when present, gives the checksums of
its files, as the test fixtures' small releases have).
"""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

RELEASES_FILE = Path(__file__).resolve().parent / "imports" / "releases.yaml"
CHECKSUMS = "SHA256SUMS"


class ReleaseError(RuntimeError):
    """A release file that cannot be had or is not the pinned one."""


@dataclass(frozen=True)
class Release:
    """One pinned upstream file."""

    key: str
    url: str
    file: str  # its path under the cache or a mirror
    sha256: str
    source: str  # recorded as dcterms:source on each term read from it
    format: str  # obo, obographs-json, class-stats, edges, sssom
    slices: tuple[str, ...] = ()
    parents: str | None = None  # the key of the release that gives this one's parent edges


def pinned(path: Path = RELEASES_FILE) -> dict[str, Release]:
    """The pinned releases by key."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {key: Release(key, e["url"], e["file"], e["sha256"], e["source"], e["format"], tuple(e.get("slices", ())),
                         e.get("parents")) for key, e in entries.items()}


def default_cache() -> Path:
    """Where downloaded releases are kept."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "poems-kg" / "releases"


def sha256(path: Path) -> str:
    """The SHA-256 of a file, in hex."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class ReleaseFiles:
    """The local path of each pinned release: from a mirror folder when given, else from the cache (filled on demand)."""

    def __init__(self, mirror: Path | None = None, cache: Path | None = None, console: Console | None = None) -> None:
        self.mirror, self.cache = mirror, cache or default_cache()
        self.console = console or Console(stderr=True)
        if mirror is not None and not mirror.is_dir():
            raise ReleaseError(f"{mirror}: the mirror folder does not exist")
        self.sums = self._read_sums(mirror) if mirror is not None else {}

    def available(self, release: Release) -> bool:
        """Whether the mirror, or else the cache, holds the release (nothing is downloaded)."""
        return ((self.mirror or self.cache) / release.file).is_file()

    def path(self, release: Release) -> Path:
        """The checked local file of ``release``."""
        if self.mirror is not None:
            path = self.mirror / release.file
            if not path.is_file():
                raise ReleaseError(f"{path}: the mirror has no file for the pinned release {release.key} "
                                   f"({release.url}); put that file there, or leave out --mirror to download it")
            expected = self.sums.get(release.file, release.sha256)
        else:
            path = self.cache / release.file
            if not path.is_file():
                self._download(release, path)
            expected = release.sha256
        actual = sha256(path)
        if actual != expected:
            raise ReleaseError(f"{path}: SHA-256 {actual} is not the {expected} pinned for {release.key} ({release.url}): "
                               "the file changed since it was fetched; delete it to fetch the pinned release again")
        return path

    def _download(self, release: Release, path: Path) -> None:
        """Fetch ``release`` into ``path`` (through a temporary file: a failed download leaves nothing)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        columns = ("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn())
        try:
            with httpx.stream("GET", release.url, follow_redirects=True, timeout=60) as response, \
                    Progress(*columns, console=self.console, transient=True) as progress:
                response.raise_for_status()
                task = progress.add_task(release.key, total=int(response.headers.get("content-length", 0)) or None)
                with partial.open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
                        progress.advance(task, len(chunk))
        except httpx.HTTPError as exc:
            partial.unlink(missing_ok=True)
            raise ReleaseError(f"cannot download {release.url} ({exc}); when offline, give --mirror DIR: a folder holding "
                               f"{release.file} and the other files of {RELEASES_FILE.name}, laid out as there") from None
        if (actual := sha256(partial)) != release.sha256:
            partial.unlink()
            raise ReleaseError(f"{release.url}: SHA-256 {actual} is not the pinned {release.sha256}: the release "
                               f"changed upstream; pin it again in {RELEASES_FILE} after checking what changed")
        partial.replace(path)

    @staticmethod
    def _read_sums(folder: Path) -> dict[str, str]:
        """``SHA256SUMS`` of a folder (``sha256sum`` format), by relative path; empty when absent."""
        path = folder / CHECKSUMS
        if not path.exists():
            return {}
        out = {}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            digest, _, name = line.partition("  ")
            if len(digest) != 64 or not name:
                raise ReleaseError(f"{path}:{number}: expected '<sha256>  <file>', as sha256sum writes")
            out[name] = digest
        return out
