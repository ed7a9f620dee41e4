"""What each operation answers, for the OpenAPI document: the media types of its documents and its error statuses.

One table of error statuses, used by every router, so that the document lists every status and media type a client
can meet (checked by schemathesis in ``tests/test_api_properties.py``).
"""

from collections.abc import Iterable
from typing import Any

Responses = dict[int | str, dict[str, Any]]
ERROR_BODY = {"application/json": {"schema": {"type": "object", "properties": {"detail": {}}, "required": ["detail"]}}}
ERRORS = {
    303: "See the document about the thing this IRI names, in the format the Accept header asks for",
    400: "The request is malformed (the message says what and where)",
    401: "No bearer token, or not a valid one",
    403: "Writes are not configured, or the token lacks the scope",
    404: "Nothing in poems-kg has this identifier",
    406: "None of the media types the Accept header names is offered",
    409: "A conflict with the current claims",
    413: "The request or its answer is larger than the limit",
    415: "The body's media type is not one this operation reads",
    422: "A parameter is malformed, or the write was rejected (the body holds the report; nothing was written)",
    503: "Stopped at the memory or time limit; nothing was changed",
}


def documents(media_types: Iterable[str], what: str = "The document, in the negotiated format") -> Responses:
    """A 200 answer in any of ``media_types``."""
    return {200: {"description": what, "content": {media: {} for media in media_types}}}


def errors(*statuses: int) -> Responses:
    """The given error statuses with their meaning and the ``{"detail": ...}`` body (303: no body)."""
    return {s: {"description": ERRORS[s], **({"content": ERROR_BODY} if s >= 400 else {})} for s in statuses}
