"""Content negotiation: the one table of media types shared by every route."""

from dataclasses import dataclass

import mimeparse
from pyoxigraph import QueryResultsFormat, RdfFormat


@dataclass(frozen=True)
class Choice:
    """A negotiated representation."""

    media_type: str
    format: RdfFormat | QueryResultsFormat | None  # None: HTML


RESULT_TYPES: dict[str, QueryResultsFormat] = {
    "application/sparql-results+json": QueryResultsFormat.JSON,
    "application/json": QueryResultsFormat.JSON,
    "application/sparql-results+xml": QueryResultsFormat.XML,
    "application/xml": QueryResultsFormat.XML,
    "text/csv": QueryResultsFormat.CSV,
    "text/tab-separated-values": QueryResultsFormat.TSV,
}
GRAPH_TYPES: dict[str, RdfFormat] = {
    "text/turtle": RdfFormat.TURTLE,
    "application/trig": RdfFormat.TRIG,
    "application/n-triples": RdfFormat.N_TRIPLES,
    "application/n-quads": RdfFormat.N_QUADS,
    "application/ld+json": RdfFormat.JSON_LD,
    "application/rdf+xml": RdfFormat.RDF_XML,
}
FORMAT_ALIASES: dict[str, str] = {
    "json": "application/sparql-results+json", "xml": "application/sparql-results+xml", "csv": "text/csv",
    "tsv": "text/tab-separated-values", "ttl": "text/turtle", "turtle": "text/turtle", "trig": "application/trig",
    "nt": "application/n-triples", "nq": "application/n-quads", "jsonld": "application/ld+json",
    "rdfxml": "application/rdf+xml", "rdf": "application/rdf+xml", "html": "text/html",
}


class NotAcceptableError(Exception):
    """No representation matches the Accept header."""

    def __init__(self, offered: list[str]) -> None:
        super().__init__("cannot produce any of the requested media types; available: " + ", ".join(offered))
        self.offered = offered


def negotiate(accept: str | None, offered: dict[str, RdfFormat | QueryResultsFormat | None], default: str) -> Choice:
    """Pick the best offered media type for an Accept header (q-values honoured; ``*/*`` gives ``default``)."""
    header = (accept or "*/*").strip() or "*/*"
    ranked = [m for m in offered if m != default] + [default]  # on ties mimeparse prefers later entries
    try:
        best = mimeparse.best_match(ranked, header)
    except mimeparse.MimeTypeParseException:
        best = ""  # an unreadable Accept (or ?format=) is answered like an unsatisfiable one
    if not best:
        raise NotAcceptableError(list(offered))
    return Choice(best, offered[best])


def charset(media_type: str) -> str:
    """Content-Type header value, with charset for text formats."""
    textual = media_type.startswith("text/") or media_type.endswith(("json", "xml", "trig", "triples", "quads"))
    return f"{media_type}; charset=utf-8" if textual else media_type
