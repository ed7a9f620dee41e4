"""Dependencies injected into routes: settings and the store."""

from fastapi import Request

from kg.settings import Settings
from kg.store import KGStore


def get_store(request: Request) -> KGStore:
    """The store the application was started with."""
    store: KGStore = request.app.state.store
    return store


def app_settings(request: Request) -> Settings:
    """The settings the application was started with."""
    settings: Settings = request.app.state.settings
    return settings
