"""Connecting to PostgreSQL: the URL's spellings, its password masked, and one plain line when it fails."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import asyncpg

CONNECT_TIMEOUT = 5.0  # seconds to reach the server and log in before saying it cannot be used

_PASSWORD_PARAM = re.compile(r"(?i)([?&]password=)[^&]*")


def normalise(url: str) -> str:
    """postgres:// (Heroku's spelling) as postgresql://; anything else unchanged."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.lower() in ("postgres", "postgresql") else url


def redact(url: str) -> str:
    """The URL with any password replaced by ***, fit for logs and error messages."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}{':***' if colon else ''}@{hostport}"
    masked = parts._replace(netloc=netloc).geturl()
    return _PASSWORD_PARAM.sub(r"\1***", masked)


def _where(url: str) -> tuple[str, str, str]:
    """(host:port, database, user) as the URL names them, for messages."""
    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:
        port = "?"
    host = f"{parts.hostname or 'localhost'}:{port}"
    return host, unquote(parts.path.lstrip("/")) or "(default)", unquote(parts.username or "") or "(default)"


def explain(url: str, exc: BaseException, timeout: float = CONNECT_TIMEOUT) -> str:
    """One line naming DATABASE_URL, what went wrong and what to do; never the password."""
    shown = redact(url)
    host, database, user = _where(url)
    if isinstance(exc, asyncpg.InvalidPasswordError):
        text = f"PostgreSQL at {host} refused the password for user {user}; correct it in DATABASE_URL"
    elif isinstance(exc, asyncpg.InvalidCatalogNameError):
        text = (f"PostgreSQL at {host} has no database {database}; create it (createdb {database}) "
                "or name another in DATABASE_URL")
    elif isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        text = f"PostgreSQL at {host} does not let user {user} in ({_one_line(exc)}); check the user in DATABASE_URL"
    elif isinstance(exc, asyncpg.InsufficientPrivilegeError):
        text = (f"user {user} may not create or change the bot's tables in {database} ({_one_line(exc)}); "
                "grant it, or use another user in DATABASE_URL")
    elif isinstance(exc, TimeoutError):
        text = (f"no answer from PostgreSQL at {host} within {timeout:g} s; check the host and port in "
                "DATABASE_URL and that the server is reachable from here")
    elif isinstance(exc, OSError):
        text = (f"cannot reach PostgreSQL at {host} ({_one_line(exc)}); is the server running, and are the host "
                "and port in DATABASE_URL right?")
    else:
        text = f"cannot use {shown} ({type(exc).__name__}: {_one_line(exc)})"
    line = f"DATABASE_URL: {text}"
    password = urlsplit(url).password
    return line.replace(password, "***") if password else line


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
