"""What a computation read: the IRIs its queries were bound to, recorded for the answer cache (``api/cache.py``)."""

from contextvars import ContextVar

EVERYTHING = "*"  # what a query with no IRI bound reads
# The IRIs the queries of one computation were bound to (EVERYTHING for a query bound to none), while something
# records them: the answer cache, which drops a kept answer only when a write touches one of them (api/cache.py).
READS: ContextVar[set[str] | None] = ContextVar("reads", default=None)


def record(iris: list[str] | None) -> None:
    """Note what a query about ``iris`` reads (``None``: the whole store), when reads are being recorded.

    A query bound to IRIs reads the claims about them and their own facts: a claim write changes its answer only if
    its subject, object, source or claim is one of them; anything else (labels, mappings) changes by admin writes only.
    """
    reads = READS.get()
    if reads is not None:
        reads.update(iris if iris else [EVERYTHING])
