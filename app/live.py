"""The server process's live hub, built from the app's engine (see `app/main.py`)."""

from app.config import get_settings
from app.db import get_engine, get_sessionmaker
from app.services.live.hub import LiveHub


def start_live_hub() -> LiveHub:
    """A hub listening on the app's database (asyncpg's own URL form)."""
    url = get_engine().url.set(drivername="postgresql")
    return LiveHub(url.render_as_string(hide_password=False), get_sessionmaker(), get_settings())
