"""Presets in the core: the combining rule, names, the cap, and the console's /preset commands."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from adapters.console.app import chat
from bot.commands import CommandRequest, request_from_json, request_to_json
from bot.contract import InvalidRequest
from bot.core import Core
from bot.messages import presets as say
from bot.presets import MAX_PER_SCOPE, check_name, combine
from bot.safe_text import shown
from storage import SQLiteStore
from tests.conftest import make_settings


def test_the_combining_rule() -> None:
    assert combine("{prompt}, film noir, rain", "a cat") == "a cat, film noir, rain"
    assert combine("a painting of {prompt} in oils", "  a cat ") == "a painting of a cat in oils"
    assert combine("film noir, rain", "a cat") == "a cat, film noir, rain"  # no {prompt}: after it, with a comma
    assert combine("film noir, rain", "") == "film noir, rain"  # no prompt: the text alone
    assert combine("{prompt}, film noir", "") == "film noir"  # nor a dangling comma
    assert combine("{prompt} and {prompt}", "a cat") == "a cat and a cat"


def test_names() -> None:
    assert check_name("Noir_2-b") == "noir_2-b"  # kept in lower case: Noir and noir are one preset
    assert check_name("x" * 32) == "x" * 32
    for bad in ("", "x" * 33, "two words", "café", "no/slash", "off", "OFF"):
        with pytest.raises(InvalidRequest):
            check_name(bad)


async def test_the_cap_per_scope_is_a_plain_refusal(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, blocked_terms="gore")
    store = await SQLiteStore.open(settings.database_path)
    core = Core(settings, store, provider_name="local", ports={})

    def ask(*args: str, user: str = "U1", prompt: str | None = "a text", admin: bool = False) -> CommandRequest:
        return CommandRequest(platform="slack", workspace_id="T1", channel_id="C1", user_id=user, command="preset",
                              args=args, prompt=prompt, is_admin=admin)

    try:
        for n in range(MAX_PER_SCOPE):
            assert (await core.handle(ask("save", f"p{n}"))).ok
        full = await core.handle(ask("save", "one-more"))
        assert not full.ok and full.text == say.PRESET_FULL_OWN.format(limit=MAX_PER_SCOPE)
        assert (await core.handle(ask("save", "p3", prompt="changed"))).ok  # replacing one is within the cap
        for n in range(MAX_PER_SCOPE):
            assert (await core.handle(ask("save", f"w{n}", "workspace", admin=True))).ok
        full = await core.handle(ask("save", "w-more", "workspace", admin=True))
        assert full.text == say.PRESET_FULL_WORKSPACE.format(limit=MAX_PER_SCOPE)
        assert len(await store.presets("slack", "T1", "U1")) == 2 * MAX_PER_SCOPE
        blocked = await core.handle(ask("save", "gory", prompt="lots of gore"))
        assert not blocked.ok and "gore" in blocked.text  # the workspace's blocked terms hold for presets too
        unknown = say.PRESET_UNKNOWN.format(name=shown("nothing-here"))  # a name as the member typed it, marked
        assert (await core.handle(ask("use", "nothing-here"))).text == unknown
        assert (await core.handle(ask("delete", "nothing-here"))).text == unknown
    finally:
        await store.close()


async def test_console_preset_save_list_use_and_delete(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store = await SQLiteStore.open(settings.database_path)
    core = Core(settings, store, provider_name="local", ports={})
    typed = io.StringIO("/preset save Noir {prompt}, film noir --resolution 1080P\n"
                        "/preset list\n"
                        "/video --preset noir a paper boat\n"
                        "/preset use noir a dog --resolution 768P\n"
                        "/preset save x text --image cat.png\n"
                        "/preset delete noir\n"
                        "/video --preset noir a paper boat\n")
    out = io.StringIO()
    try:
        started = await chat(core, typed, out, user="me", prompt=False, locale="en")
        jobs = [await store.get_job(job_id) for job_id in started]
        assert [(j.request.prompt, j.request.resolution) for j in jobs] == [("a paper boat, film noir", "1080P"),
                                                                           ("a dog, film noir", "768P")]
        said = out.getvalue()
        assert say.PRESET_SAVED_OWN.format(name="noir") in said
        assert "noir (yours): {prompt}, film noir [1080P]" in said
        assert "error: I don't know the option --image." in said  # refused in plain words, the chat goes on
        assert say.PRESET_DELETED_OWN.format(name="noir") in said
        assert said.rstrip().endswith(say.PRESET_UNKNOWN.format(name="noir"))
    finally:
        await store.close()


def test_the_preset_named_survives_the_inbox_and_older_records_load() -> None:
    # A recorded /video is replayed from its JSON by whichever process takes it over: the preset goes with it.
    req = CommandRequest(platform="discord", workspace_id="G1", channel_id="c", user_id="u", command="video",
                         prompt="a cat", preset="noir")
    assert request_from_json(request_to_json(req)) == req
    older = {k: v for k, v in request_to_json(req).items() if k != "preset"}  # recorded before presets existed
    assert request_from_json(older).preset is None
