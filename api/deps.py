"""Dependencies injected into routes: settings and the store."""

from fastapi import Request

from api.query_pool import QueryPool, RemoteRunner
from kg.settings import Settings
from kg.store import KGStore


async def get_store(request: Request) -> KGStore:
    """The store the application was started with (async: FastAPI runs plain functions in a thread)."""
    store: KGStore = request.app.state.store
    return store


async def app_settings(request: Request) -> Settings:
    """The settings the application was started with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_pool(request: Request) -> QueryPool | RemoteRunner:
    """What answers SPARQL queries: worker processes (embedded store) or the remote server."""
    pool: QueryPool | RemoteRunner = request.app.state.pool
    return pool
