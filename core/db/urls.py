"""Turning the URLs a user or the embedded server gives into what SQLAlchemy/asyncpg take."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def async_url(url: str) -> URL:
    """``postgresql://`` (and ``postgres://``) become ``postgresql+asyncpg://``.

    The embedded server hands out a Unix-socket URI (``?host=/socket/dir``); asyncpg reads
    the ``host`` query parameter as is, so only the driver name changes.
    """
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+asyncpg")


def with_database(url: str, database: str) -> str:
    """The same server, another database (tests create and drop their own)."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def as_role(url: str, role: str) -> str:
    """The same server and database, logging in as ``role`` (no password: for servers that
    trust local connections, as the embedded one does)."""
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)
