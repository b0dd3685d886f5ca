"""Each workspace's own daily dollar budget (its admins') under the bot-wide BUDGET_DAILY_USD (the operator's).

Core and store on both backends: the cap is respected and said plainly (which one was reached, nothing
charged), `off` clears it, every change lands in admin_log with who made it, bad values are refused, and two
connections racing at the cap admit only what fits.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.console.translate import PLATFORM, WORKSPACE, render_reply, to_request
from bot import messages
from bot.admin import MAX_BUDGET_USD
from bot.commands import CommandRequest
from bot.contract import VideoRequest
from bot.core import Core
from bot.days import human_duration, seconds_until_reset, utc_day
from bot.jobs import Job, JobStatus
from bot.safe_text import shown
from tests.conftest import make_settings
from tests.helpers import FakeChatPort, FakeClock

DAY = "2027-01-15"


async def make_core(open_test_store, tmp_path: Path, **overrides: object) -> tuple[Core, object, FakeClock]:
    clock = FakeClock()
    store = await open_test_store(clock=clock)
    settings = make_settings(tmp_path, quota_user_daily_credits=100, quota_workspace_daily_credits=1000, **overrides)
    core = Core(settings, store, provider_name="scripted", ports={"fake": FakeChatPort()}, clock=clock)
    return core, store, clock


def ask(user: str = "u1", workspace: str = "w", **kw: object) -> CommandRequest:
    return CommandRequest(platform="fake", workspace_id=workspace, channel_id="c", user_id=user, command="video",
                          prompt="a quiet harbour", **kw)  # type: ignore[arg-type]


def admin(*args: str, user: str = "boss", workspace: str = "w", is_admin: bool = True) -> CommandRequest:
    return CommandRequest(platform="fake", workspace_id=workspace, channel_id="c", user_id=user, command="admin",
                          args=args, is_admin=is_admin)


def reset_in(clock: FakeClock) -> str:
    return human_duration(seconds_until_reset(clock()))


async def test_a_workspace_cap_is_respected_said_plainly_uncharged_and_cleared_with_off(
        open_test_store, tmp_path: Path) -> None:
    core, store, clock = await make_core(open_test_store, tmp_path)
    said = await core.handle(admin("budget", "0.60"))
    assert said.ok and said.text.startswith("This workspace's daily spending limit is now $0.60; $0.00 spent")
    assert "no bot-wide limit" in said.text
    first, second = await core.handle(ask()), await core.handle(ask(user="u2"))  # $0.28 each: $0.56
    assert first.ok and second.ok
    refused = await core.handle(ask(user="u3"))  # $0.28 more would pass $0.60
    assert not refused.ok and refused.ephemeral
    assert refused.text == messages.WORKSPACE_BUDGET_REACHED.format(cost=0.28, left=0.04, budget=0.60,
                                                                     reset=reset_in(clock))
    assert "$0.04 left of the daily spending limit its admins set ($0.60)" in refused.text
    assert sorted(j.user_id for j in await store.active_jobs()) == ["u1", "u2"]  # nothing recorded for u3...
    assert (await store.usage("fake", "w", "u3", day=utc_day(clock()), user_limit=100,
                              workspace_limit=1000)).user_used == 0  # ...and nothing charged
    assert (await core.handle(ask(workspace="other"))).ok  # another workspace's spend is its own
    budget = await store.workspace_budget("fake", "w", day=utc_day(clock()))
    assert (budget.usd, round(budget.spent_usd, 2), budget.set_by) == (0.60, 0.56, "fake:boss")

    # A failed job's dollars were never spent: they count no more, so the next video fits.
    await store.transition(await store.get_job(first.job_id), JobStatus.FAILED)
    assert (await core.handle(ask(user="u3"))).ok
    assert not (await core.handle(ask(user="u4"))).ok

    off = await core.handle(admin("budget", "OFF"))
    assert off.ok and off.text.startswith("This workspace's own daily spending limit is removed; $0.56 spent")
    assert (await core.handle(ask(user="u4"))).ok  # only the bot-wide budget (none here) is left
    assert (await store.workspace_budget("fake", "w", day=utc_day(clock()))).usd is None
    log = [(actor, action, detail) for _, actor, action, detail in await store.admin_log("fake", "w")]
    assert log == [("fake:boss", "budget", "off"), ("fake:boss", "budget", "0.60")]


async def test_the_bot_wide_ceiling_still_applies_and_each_refusal_says_which(open_test_store, tmp_path: Path) -> None:
    core, store, clock = await make_core(open_test_store, tmp_path, budget_daily_usd=1.0)
    await core.handle(admin("budget", "25"))  # above the operator's ceiling: allowed, the ceiling still holds
    shown = await core.handle(admin("budget"))
    assert shown.text == (f"{messages.ADMIN_BUDGET.format(budget=25, spent=0.0)} "
                          f"{messages.ADMIN_BUDGET_CEILING.format(ceiling=1.0)}")
    assert "$25.00" in shown.text and "only the bot's operator sets, is $1.00 a day" in shown.text
    # A workspace cap under the ceiling is the one reached first, and the refusal names it.
    await core.handle(admin("budget", "0.30", workspace="small"))
    assert (await core.handle(ask(workspace="small"))).ok
    own = await core.handle(ask(user="u2", workspace="small"))
    assert own.text == messages.WORKSPACE_BUDGET_REACHED.format(cost=0.28, left=0.02, budget=0.30,
                                                                 reset=reset_in(clock))
    # The ceiling counts every workspace's spend: $0.28 there and $0.56 here; $0.28 more would pass $1.00.
    for user in ("u1", "u2"):
        assert (await core.handle(ask(user=user))).ok
    bot_wide = await core.handle(ask(user="u3"))
    assert bot_wide.text == messages.BUDGET_REACHED.format(budget=1.0, reset=reset_in(clock))
    assert bot_wide.text.startswith("The bot has reached today's spending limit ($1.00)")
    assert len(await store.active_jobs()) == 3


async def test_zero_stops_every_video_and_a_regenerate_is_held_to_the_cap_too(open_test_store, tmp_path: Path) -> None:
    core, store, _ = await make_core(open_test_store, tmp_path)
    first = await core.handle(ask())
    await core.handle(admin("budget", "$0"))
    assert not (await core.handle(ask(user="u2"))).ok
    again = CommandRequest(platform="fake", workspace_id="w", channel_id="c", user_id="u1", command="regenerate",
                           job_id=first.job_id)
    assert (await core.handle(again)).text.startswith("This video costs $0.28 and this workspace has $0.00 left")
    assert len(await store.active_jobs()) == 1


async def test_showing_and_refusing_values_in_plain_words(open_test_store, tmp_path: Path) -> None:
    core, store, _ = await make_core(open_test_store, tmp_path)
    none = await core.handle(admin("budget"))
    assert none.ok and none.text == (f"{messages.ADMIN_BUDGET_NONE.format(spent=0.0)} "
                                     f"{messages.ADMIN_BUDGET_NO_CEILING}")
    for bad in ("-5", "abc", "nan", "inf", "1e9", "2.5.1", "25 dollars"):
        reply = await core.handle(admin("budget", *bad.split()))
        assert not reply.ok, bad
        assert reply.text == messages.ADMIN_BUDGET_BAD.format(value=shown(bad), max=MAX_BUDGET_USD), bad
    assert "from 0 to 1,000,000" in (await core.handle(admin("budget", "-5"))).text
    member = await core.handle(admin("budget", "5", user="u1", is_admin=False))
    assert not member.ok and member.text == messages.ADMIN_ONLY
    assert await store.admin_log("fake", "w") == []  # nothing was changed by any of them
    assert (await store.workspace_budget("fake", "w", day=DAY)).usd is None
    assert "budget [USD|off]" in (await core.handle(admin("help"))).text
    cents = await core.handle(admin("budget", "7.499"))
    assert cents.ok and (await store.workspace_budget("fake", "w", day=DAY)).usd == 7.5  # to the cent


def priced_job(n: int, *, workspace: str = "w1", usd: float = 0.28) -> Job:
    return Job(id=f"job{n}", platform="fake", workspace_id=workspace, channel_id="c1", user_id=f"user{n}",
               request=VideoRequest.build(f"prompt {n}"), cost=1, provider="scripted", created_at=float(n),
               updated_at=float(n), day=DAY, price_usd=usd)


async def test_two_connections_racing_at_the_cap_admit_only_what_fits(open_test_store) -> None:
    a, b = await open_test_store(), await open_test_store()
    await a.set_workspace_budget("fake", "w1", 1.00, set_by="fake:boss")
    jobs = [priced_job(n) for n in range(40)]
    results = await asyncio.gather(*((a if n % 2 else b).create_job(j, day=DAY, user_limit=10, workspace_limit=100)
                                     for n, j in enumerate(jobs)))
    assert sum(r.ok for r in results) == 3  # 3 x $0.28 = $0.84; a fourth would be $1.12
    refusals = [r for r in results if not r.ok]
    assert {r.refused_by for r in refusals} == {"workspace_budget"} and {r.budget_usd for r in refusals} == {1.0}
    assert {round(r.spent_usd, 2) for r in refusals} == {0.84}
    for store in (a, b):  # both connections see the same three jobs, and the same spend
        assert len(await store.active_jobs()) == 3
        assert round((await store.workspace_budget("fake", "w1", day=DAY)).spent_usd, 2) == 0.84
    # The bot-wide ceiling and the workspace cap race together: the lower one decides.
    results = await asyncio.gather(*((a if n % 2 else b).create_job(priced_job(100 + n, workspace="w2"), day=DAY,
                                                                    user_limit=10, workspace_limit=100,
                                                                    budget_usd=1.50)
                                     for n in range(20)))
    assert sum(r.ok for r in results) == 2  # $0.84 already spent today + 2 x $0.28 = $1.40 under $1.50
    assert {r.refused_by for r in results if not r.ok} == {"budget"}


async def test_changing_the_cap_is_audited_on_both_backends(open_test_store) -> None:
    store = await open_test_store(clock=FakeClock())
    await store.set_workspace_budget("slack", "T1", 12.5, set_by="slack:U1")
    await store.set_workspace_budget("slack", "T1", 20, set_by="web:U2")
    await store.set_workspace_budget("slack", "T2", 3, set_by="slack:U9")
    await store.set_workspace_budget("slack", "T1", None, set_by="slack:U1")
    assert [(a, act, d) for _, a, act, d in await store.admin_log("slack", "T1")] == [
        ("slack:U1", "budget", "off"), ("web:U2", "budget", "20.00"), ("slack:U1", "budget", "12.50")]
    assert (await store.workspace_budget("slack", "T1", day=DAY)).usd is None
    kept = await store.workspace_budget("slack", "T2", day=DAY)
    assert (kept.usd, kept.spent_usd, kept.set_by, kept.set_at) == (3.0, 0.0, "slack:U9", 1_800_000_000.0)


async def test_the_console_operator_caps_the_local_workspace(open_test_store, tmp_path: Path) -> None:
    core, store, _ = await make_core(open_test_store, tmp_path)
    said = await core.handle(to_request("/admin budget 0.30", user_id="ops"))
    assert render_reply(said).startswith("This workspace's daily spending limit is now $0.30")
    assert (await core.handle(to_request("/video a quiet harbour", user_id="ops"))).ok
    refused = render_reply(await core.handle(to_request("/video a second harbour", user_id="ops")))
    assert "this workspace has $0.02 left of the daily spending limit its admins set ($0.30)" in refused
    bad = await core.handle(to_request("/admin budget lots", user_id="ops"))
    assert not bad.ok and "\u201clots\u201d is not one. Nothing was changed." in render_reply(bad)
    assert [(a, act, d) for _, a, act, d in await store.admin_log(PLATFORM, WORKSPACE)] == [
        ("console:ops", "budget", "0.30")]


async def test_a_refunded_cancel_frees_its_dollars_under_both_caps(open_test_store, tmp_path: Path) -> None:
    core, store, _ = await make_core(open_test_store, tmp_path, budget_daily_usd=0.60)
    assert (await core.handle(admin("budget", "0.60"))).ok
    first = await core.handle(ask())
    assert first.ok and (await core.handle(ask(user="u2"))).ok  # $0.56 of $0.60, under both caps
    assert not (await core.handle(ask(user="u3"))).ok
    cancelled = await core.handle(CommandRequest(platform="fake", workspace_id="w", channel_id="c", user_id="u1",
                                                 command="cancel", job_id=first.job_id))
    assert cancelled.ok and (await store.get_job(first.job_id)).cancel_refunded is True
    # Refunded before it reached the provider: its $0.28 was never spent, for the workspace's cap as for the bot's.
    assert (await core.handle(ask(user="u3"))).ok
    assert not (await core.handle(ask(user="u4"))).ok
