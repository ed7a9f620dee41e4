"""The quote targets of each source's claims in the order of their spans, kept: a page of a source is a slice of it.

Oxigraph has no range index: ordering the spans of a source by offset reads every span (~4 s for a source with 100,000
claims), and did so for each page of its document. Each serving process orders a source's spans once and keeps the
order until a write touches the source (``forget``, with the answers a write renews: ``api.writes.renew_answers``).
"""

import threading

from kg.named_queries import run_query
from kg.namespaces import Namespaces
from kg.store import KGStore, select_rows


class SourceSpans:
    """The quote targets of each source asked for, in the order of their spans (start, end, then target IRI)."""

    def __init__(self) -> None:
        self._order: dict[str, list[str]] = {}
        self._forgotten = 0  # moved on by every forget: an order read across one is not kept (it may predate the write)
        self._lock = threading.Lock()

    def targets(self, store: KGStore, ns: Namespaces, source: str) -> list[str]:
        """The quote targets of ``source``'s claims in the order of their spans."""
        with self._lock:
            kept, forgotten = self._order.get(source), self._forgotten
        if kept is not None:
            return kept
        rows = select_rows(run_query(store, ns, "source-spans", SOURCE=source))
        order = [r["target"] for r in sorted(rows, key=lambda r: (int(r["start"]), int(r["end"]), r["target"]))]
        with self._lock:
            if self._forgotten == forgotten:
                self._order[source] = order
        return order

    def forget(self, touched: set[str] | None) -> None:
        """Forget the order of the sources a write touched (``None``: of every source)."""
        with self._lock:
            self._forgotten += 1
            for source in list(self._order) if touched is None else touched & self._order.keys():
                del self._order[source]
