"""PostgreSQL only: many processes starting at once migrate once; a database that cannot be used is one plain
line naming DATABASE_URL, never its password; postgres:// is accepted; backup points at pg_dump."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.store import Store, StoreUnavailable
from storage import SQLiteStore, open_store
from storage.postgres import PostgresStore
from storage.postgres.connect import redact
from tests.postgres import PASSWORD, PASSWORD_USER, free_port

# The highest number, not the count: the migrations are numbered up front, per feature.
LATEST = max(int(f.name.split("_", 1)[0]) for f in (Path(__file__).parent.parent / "storage" / "migrations_pg")
             .glob("*.sql"))


async def test_eight_concurrent_opens_migrate_once(postgres_server) -> None:
    url = postgres_server.new_database()
    stores = await asyncio.gather(*(open_store(url) for _ in range(8)))
    try:
        assert [await s.schema_version() for s in stores] == [LATEST] * 8
        assert await stores[0].migrate() == LATEST
        assert await stores[0].unwritable_tables() == []
    finally:
        for s in stores:
            await s.close()


async def test_heroku_spelling_is_accepted(postgres_server) -> None:
    url = postgres_server.new_database().replace("postgresql://", "postgres://", 1)
    store = await open_store(url)
    try:
        assert await store.schema_version() == LATEST
    finally:
        await store.close()


async def unavailable(url: str) -> str:
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        await open_store(url)
    assert time.monotonic() - started < 8
    line = str(caught.value)
    assert "\n" not in line and line.startswith("DATABASE_URL")
    return line


async def test_a_wrong_password_is_named_without_the_password(postgres_server) -> None:
    database = postgres_server.new_database(owner=PASSWORD_USER).rsplit("/", 1)[1]
    good = postgres_server.url(database, PASSWORD_USER, PASSWORD)
    store = await open_store(good)  # the right password works
    await store.close()
    line = await unavailable(postgres_server.url(database, PASSWORD_USER, "wrong-secret-123"))
    assert "wrong-secret-123" not in line and "password" in line and PASSWORD_USER in line


async def test_an_unreachable_port_is_named(postgres_server) -> None:
    line = await unavailable(f"postgresql://bot:hunter2-secret@127.0.0.1:{free_port()}/bot")
    assert "hunter2-secret" not in line and "cannot reach PostgreSQL at 127.0.0.1" in line


async def test_a_missing_database_is_named(postgres_server) -> None:
    line = await unavailable(postgres_server.url("no_such_db", "postgres", "ignored-secret"))
    assert "no database no_such_db" in line and "ignored-secret" not in line


async def test_backup_points_at_pg_dump(postgres_server) -> None:
    store = await open_store(postgres_server.new_database())
    try:
        with pytest.raises(NotImplementedError, match="pg_dump"):
            await store.backup("copy.db")
    finally:
        await store.close()


def test_redact() -> None:
    assert redact("postgresql://u:p%40ss@h:5432/db?sslmode=require") == "postgresql://u:***@h:5432/db?sslmode=require"
    assert redact("postgresql://h/db?user=u&password=secret") == "postgresql://h/db?user=u&password=***"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


async def test_an_unknown_scheme_is_named() -> None:
    with pytest.raises(StoreUnavailable, match="DATABASE_URL must start with"):
        await open_store("mysql://db.example/bot")


def test_both_stores_have_every_method_of_the_protocol() -> None:
    wanted = {name for name in vars(Store) if not name.startswith("_") and callable(getattr(Store, name))}
    assert wanted - set(dir(PostgresStore)) == set()
    assert wanted - set(dir(SQLiteStore)) == set()


async def test_frames_round_trip(postgres_server) -> None:
    store = await open_store(postgres_server.new_database())
    try:
        await store.put_frame("f.png", b"\x89PNG\x00\xff")
        await store.put_frame("f.png", b"other")  # written once: the same name holds the same image
        assert await store.get_frame("f.png") == b"\x89PNG\x00\xff"
        await store.drop_frame("f.png")
        assert await store.get_frame("f.png") is None
    finally:
        await store.close()
