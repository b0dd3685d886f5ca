"""The language a job and a workspace keep (migration 0008), on SQLite and PostgreSQL."""

from __future__ import annotations

from bot.contract import VideoRequest
from bot.jobs import Job


async def test_workspace_default_language_is_kept_and_audited(open_test_store) -> None:
    store = await open_test_store()
    assert await store.workspace_locale("slack", "T1") is None
    await store.set_workspace_locale("slack", "T1", "zh_CN", set_by="slack:U9")
    await store.set_workspace_locale("slack", "T1", "en", set_by="slack:U8")
    await store.set_workspace_locale("discord", "G1", "zh_CN", set_by="discord:1")
    assert await store.workspace_locale("slack", "T1") == "en"
    assert await store.workspace_locale("discord", "G1") == "zh_CN"
    log = await store.admin_log("slack", "T1")
    assert sorted((actor, action, detail) for _, actor, action, detail in log) == [
        ("slack:U8", "language", "en"), ("slack:U9", "language", "zh_CN")]


async def test_a_job_keeps_the_language_of_the_member_who_asked(open_test_store) -> None:
    store = await open_test_store()
    job = Job(id="j1", platform="slack", workspace_id="T1", channel_id="C1", user_id="U1",
              request=VideoRequest.build("a cat"), cost=1, provider="local", locale="zh_CN", day="2027-01-01",
              created_at=1.0, updated_at=1.0)
    reservation = await store.create_job(job, day="2027-01-01", user_limit=10, workspace_limit=100,
                                         max_in_flight=2, budget_usd=None)
    assert reservation.ok
    assert (await store.get_job("j1")).locale == "zh_CN"


async def test_the_language_is_the_members_then_the_admins_default_then_the_servers(tmp_path) -> None:
    from bot import messages
    from bot.commands import CommandRequest
    from bot.core import Core
    from bot.i18n import render
    from storage import SQLiteStore
    from tests.conftest import make_settings
    from tests.helpers import FakeChatPort, FakeClock

    settings = make_settings(tmp_path)
    store = await SQLiteStore.open(settings.database_path, clock=FakeClock())
    core = Core(settings, store, provider_name="scripted", ports={"fake": FakeChatPort()})

    def ask(**kw) -> CommandRequest:
        return CommandRequest(platform="fake", workspace_id="w", channel_id="c", user_id="u1", command="video",
                              prompt="x", duration=10, resolution="1080P", **kw)

    try:
        zh, en = render(messages.HD_ONLY_SHORT, "zh_CN"), str(messages.HD_ONLY_SHORT)
        assert (await core.handle(ask(locale="zh_CN"))).text == zh
        assert (await core.handle(ask(locale=None, server_locale="zh_CN"))).text == zh
        assert (await core.handle(ask())).text == en
        admin = CommandRequest(platform="fake", workspace_id="w", channel_id="c", user_id="boss", command="admin",
                               args=("language", "en-GB"), is_admin=True, locale="zh_CN")
        assert (await core.handle(admin)).text == "已将无法识别语言的成员的默认语言设为英语（en）。"
        assert (await core.handle(ask(server_locale="zh_CN"))).text == en  # the admins' default comes first
        assert (await core.handle(ask(locale="zh_CN"))).text == zh  # and the member's own before it
        bad = CommandRequest(platform="fake", workspace_id="w", channel_id="c", user_id="boss", command="admin",
                             args=("language", "tlh"), is_admin=True)
        assert (await core.handle(bad)).text == "I don't speak tlh. Languages: en, zh_CN."
    finally:
        await store.close()
