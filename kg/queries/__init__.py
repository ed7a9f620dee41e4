"""Named SPARQL queries kept as files, each with a ``# title:`` and ``# comment:`` header."""

from dataclasses import dataclass
from pathlib import Path

QUERY_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class NamedQuery:
    """A query file with its title and comment."""

    name: str
    title: str
    comment: str
    text: str


def example_queries() -> list[NamedQuery]:
    """The example queries shipped in ``kg/queries``, sorted by file name."""
    out = []
    for path in sorted(QUERY_DIR.glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        header = {k.strip(): v.strip() for k, _, v in
                  (line[1:].partition(":") for line in text.splitlines() if line.startswith("#") and ":" in line)}
        out.append(NamedQuery(path.stem, header.get("title", path.stem), header.get("comment", ""), text))
    return out
