"""After a write through the gate (``pipeline.gate``): what the server does so that the next answers see it."""

import datetime as dt
import logging

from fastapi import Request

from api.dumps import forget_derived

LOG = logging.getLogger(__name__)


async def after_write(request: Request) -> None:
    """Make the next answers see the write: new Last-Modified, dumps, query-worker snapshot, and data version.

    The version moves last, once the rest is ready, so that no answer kept before the write is served after it.
    """
    request.app.state.loaded_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    forget_derived(request.app.state)
    try:
        await request.app.state.pool.refresh(request.app.state.store)
    except (RuntimeError, OSError) as exc:  # the write is committed; queries answer from the older snapshot meanwhile
        LOG.error("query workers not refreshed after a write: %s", exc)
    request.app.state.version += 1
