"""The presets store on every backend (SQLite and PostgreSQL): scopes, shadowing, the cap, defaults, the audit log."""

from __future__ import annotations

import asyncio

from bot.presets import WORKSPACE, Preset


def preset(name: str, owner: str = WORKSPACE, text: str = "film noir", **settings: object) -> Preset:
    return Preset("slack", "T1", owner, name, text, created_by=f"slack:{owner or 'A1'}", created_at=5.0,
                  **settings)  # type: ignore[arg-type]


async def test_saved_listed_found_with_a_members_own_shadowing_the_workspaces(open_test_store) -> None:
    store = await open_test_store()
    shared = preset("noir", text="{prompt}, film noir", duration=10, resolution="768P", prompt_optimizer=False,
                    fast_pretreatment=True)
    assert await store.save_preset(shared, max_per_scope=25)
    assert await store.save_preset(preset("noir", owner="U1", text="mine"), max_per_scope=25)
    assert await store.save_preset(preset("alpha", owner="U2", text="bob's"), max_per_scope=25)
    assert await store.save_preset(Preset("slack", "T2", WORKSPACE, "noir", "elsewhere"), max_per_scope=25)

    assert await store.find_preset("slack", "T1", "U2", "noir") == shared  # every field, booleans as booleans
    assert (await store.find_preset("slack", "T1", "U1", "noir")).text == "mine"  # their own first
    assert await store.find_preset("slack", "T1", "U1", "alpha") is None  # another member's is not theirs
    assert await store.find_preset("discord", "T1", "U1", "noir") is None
    listed = await store.presets("slack", "T1", "U1")
    assert [(p.name, p.owner) for p in listed] == [("noir", WORKSPACE), ("noir", "U1")]
    mine = listed[1]
    assert (mine.duration, mine.resolution, mine.prompt_optimizer, mine.fast_pretreatment) == (None,) * 4

    # Saving again under the same name and owner replaces it, within the cap.
    assert await store.save_preset(preset("noir", owner="U1", text="mine, again", duration=6), max_per_scope=1)
    again = await store.find_preset("slack", "T1", "U1", "noir")
    assert again.text == "mine, again" and again.duration == 6
    log = await store.admin_log("slack", "T1")
    assert [entry[2:] for entry in log] == [("save_preset", "noir")]  # the workspace's change only, audited


async def test_the_cap_counts_per_owner_and_holds_under_concurrent_saves(open_test_store) -> None:
    store = await open_test_store()
    other = await open_test_store()  # a second connection (a second process) to the same database
    results = await asyncio.gather(*(s.save_preset(preset(f"p{i}", owner="U1"), max_per_scope=3)
                                     for i, s in enumerate([store, other] * 4)))
    assert sorted(results) == [False] * 5 + [True] * 3
    assert len(await store.presets("slack", "T1", "U1")) == 3
    assert await store.save_preset(preset("p9", owner="U2"), max_per_scope=3)  # another member's count
    assert await store.save_preset(preset("shared"), max_per_scope=3)  # and the workspace's


async def test_default_preset_follows_shadowing_and_goes_with_the_deleted_preset(open_test_store) -> None:
    store = await open_test_store()
    assert await store.find_preset("slack", "T1", "U1", None) is None
    await store.save_preset(preset("noir", text="shared noir"), max_per_scope=25)
    await store.set_default_preset("slack", "T1", "U1", "noir")
    assert await store.default_preset("slack", "T1", "U1") == "noir"
    assert (await store.find_preset("slack", "T1", "U1", None)).text == "shared noir"
    assert await store.find_preset("slack", "T1", "U2", None) is None  # another member's default is theirs
    await store.save_preset(preset("noir", owner="U1", text="my noir"), max_per_scope=25)
    assert (await store.find_preset("slack", "T1", "U1", None)).text == "my noir"

    # Deleting their own goes back to the workspace's of that name, and forgets the default it was.
    assert await store.delete_preset("slack", "T1", "U1", "noir", by="slack:U1")
    assert not await store.delete_preset("slack", "T1", "U1", "noir", by="slack:U1")
    assert await store.default_preset("slack", "T1", "U1") is None
    await store.set_default_preset("slack", "T1", "U1", "noir")
    assert await store.delete_preset("slack", "T1", WORKSPACE, "noir", by="slack:A1")
    assert await store.find_preset("slack", "T1", "U1", None) is None  # a default naming nothing applies nothing
    await store.set_default_preset("slack", "T1", "U1", None)
    assert await store.default_preset("slack", "T1", "U1") is None
    assert [entry[2:] for entry in await store.admin_log("slack", "T1")] == [("delete_preset", "noir"),
                                                                           ("save_preset", "noir")]
