"""The web page in a real headless Chromium (Debian's `chromium`, driven by Playwright): sign-in with a one-time
link, a video that plays, a queue that moves live, CSRF-guarded quota and budget changes, and workspaces kept
apart.

Screenshots of each page land in docs/screenshots/. Without Chromium these tests skip, saying so, unless
HAILUO_TEST_BROWSER=required (as .ci/run sets), when they fail.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.jobs import JobStatus
from storage import open_store
from tests.conftest import make_settings
from tests.fakes.oauth_site import StepClock, add_job, deliver, start_site

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("HAILUO_TEST_CHROMIUM", "/usr/bin/chromium")
REQUIRED_ENV = "HAILUO_TEST_BROWSER"
SKIP_REASON = "Chromium or Playwright not installed: the browser tests were skipped (apt-get install chromium)"


@pytest.fixture
async def browser():
    """A headless Chromium; skipped (or failed, when required) if it or Playwright is missing."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        async_playwright = None
    if async_playwright is None or not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        if os.environ.get(REQUIRED_ENV) == "required":
            pytest.fail(f"{REQUIRED_ENV}=required, but {SKIP_REASON.split(':')[0]}", pytrace=False)
        pytest.skip(SKIP_REASON)
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                           args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        yield chromium
        await chromium.close()


@pytest.fixture
async def site(tmp_path: Path, sample_mp4: bytes):
    """Workspace TA with videos by two members on two providers and one job waiting; workspace TB with one video."""
    settings = make_settings(tmp_path, web_secret="browser-secret", quota_user_daily_credits=10)
    settings.media_dir.mkdir(parents=True)
    store = await open_store(settings.database_url, clock=StepClock())
    running = await start_site(settings, store)
    prompts = [("U1", "Ada", "a paper boat drifting on a pond at dawn", "local", 0.28),
               ("U2", "Grace", "a red fox running through snow", "fal", 0.30),
               ("U1", "Ada", "city lights in the rain, slow pan", "local", 0.56)]
    for n, (user, name, prompt, provider, price) in enumerate(prompts, start=1):
        video = settings.media_dir / f"ta{n}.mp4"
        video.write_bytes(sample_mp4)
        job = await add_job(store, n, platform="slack", workspace="TA", user=user, name=name, prompt=prompt,
                            provider=provider, price=price)
        running.jobs[f"ta{n}"] = await deliver(store, job, video)
    running.jobs["waiting"] = await add_job(store, 9, platform="slack", workspace="TA", user="U2", name="Grace",
                                            prompt="a lighthouse in a storm")
    video = settings.media_dir / "tb1.mp4"
    video.write_bytes(sample_mp4)
    running.jobs["tb1"] = await deliver(store, await add_job(store, 1, platform="slack", workspace="TB", user="U7",
                                                             prompt="workspace B's secret video"), video)
    yield running
    await running.stop()
    await store.close()


async def sign_in(browser, site, workspace: str = "TA", *, admin: bool = True, user: str = "U1"):
    """A new browser context signed in through a one-time link; returns its page."""
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    await page.goto(await site.link("slack", workspace, user, admin=admin))
    await page.click("#use-link")
    await page.wait_for_url(f"**/w/slack/{workspace}/gallery")
    return page


async def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_sign_in_with_the_one_time_link(browser, site) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    link = await site.link("slack", "TA", "U1", admin=False)
    await page.goto(link)
    await shot(page, "sign-in")
    await page.click("#use-link")
    await page.wait_for_url("**/w/slack/TA/gallery")
    assert await page.inner_text("h1") == "Gallery"
    assert "Admin" not in await page.inner_text("header")  # a member, not an admin
    other = await (await browser.new_context()).new_page()
    await other.goto(link)
    await other.click("#use-link")
    assert await other.inner_text("h1") == "Sign-in refused"  # the link works once


async def test_the_gallery_plays_a_video(browser, site) -> None:
    page = await sign_in(browser, site)
    cards = page.locator(".card")
    assert await cards.count() == 3
    assert "city lights" in await cards.first.inner_text()  # newest first
    assert "Ada" in await cards.first.inner_text() and "$0.56" in await cards.first.inner_text()
    await page.wait_for_function("() => [...document.querySelectorAll('video')].every(v => v.readyState >= 2)",
                                 timeout=20_000)
    first = page.locator("video").first
    await first.evaluate("v => { v.muted = true; v.currentTime = 3; }")  # seeking needs range requests
    await page.wait_for_function("() => document.querySelector('video').readyState >= 2 && "
                                 "document.querySelector('video').currentTime >= 2.9", timeout=20_000)
    await first.evaluate("v => v.currentTime = 0")
    await shot(page, "gallery")
    await page.select_option("select[name=user]", "U2")
    await page.click("#filters button")
    await page.wait_for_url("**user=U2**")
    assert await cards.count() == 1 and "red fox" in await cards.first.inner_text()
    await page.fill("input[name=q]", "BOAT")
    await page.select_option("select[name=user]", "")
    await page.click("#filters button")
    await page.wait_for_url("**q=BOAT**")
    assert await cards.count() == 1 and "paper boat" in await cards.first.inner_text()


async def test_the_live_queue_changes_when_a_job_moves(browser, site) -> None:
    page = await sign_in(browser, site)
    await page.goto(site.base + "/w/slack/TA/queue")
    job = site.jobs["waiting"]
    row = page.locator(f'tr[data-job="{job.id}"]')
    await row.wait_for()
    assert await row.get_attribute("data-status") == "queued" and "#1 in line" in await row.inner_text()
    await page.evaluate("window.notReloaded = true")
    job = await site.store.transition(job, JobStatus.SUBMITTING)
    job = await site.store.transition(job, JobStatus.SUBMITTED, task_id="t-1")
    job = await site.store.transition(job, JobStatus.PROCESSING)
    await page.wait_for_selector(f'tr[data-job="{job.id}"][data-status="processing"]', timeout=10_000)
    assert await page.evaluate("window.notReloaded") is True  # changed in place, no reload
    await shot(page, "queue")
    await site.store.transition(job, JobStatus.FAILED, error="gone")
    await page.wait_for_selector(f'tr[data-job="{job.id}"]', state="detached", timeout=10_000)


async def test_a_quota_change_is_refused_without_the_csrf_token_and_logged_with_it(browser, site) -> None:
    page = await sign_in(browser, site)
    await page.click("header >> text=Admin")
    await page.wait_for_url("**/w/slack/TA/admin")
    await page.fill("#quota-form input[name=credits]", "7")
    await page.fill("#quota-form input[name=user]", "U2")
    await page.eval_on_selector("#quota-form input[name=csrf]", "e => e.remove()")
    async with page.expect_response("**/w/slack/TA/admin") as answer:
        await page.click("#quota-form button")
    assert (await answer.value).status == 403
    assert "CSRF" in await page.inner_text("body")
    assert await site.store.admin_log("slack", "TA") == []
    await page.goto(site.base + "/w/slack/TA/admin")
    await page.fill("#quota-form input[name=credits]", "7")
    await page.fill("#quota-form input[name=user]", "U2")
    await page.click("#quota-form button")
    await page.wait_for_selector("#said.ok")
    assert "Grace" in await page.inner_text("#said") and "7" in await page.inner_text("#said")
    ((_, actor, action, detail),) = await site.store.admin_log("slack", "TA")
    assert (actor, action, detail) == ("slack:U1", "set_limit", "user U2 = 7")
    assert "set_limit" in await page.inner_text("#admin-log")
    usage = await site.store.usage("slack", "TA", "U2", day="2000-01-01", user_limit=10, workspace_limit=100)
    assert usage.user_limit == 7
    await shot(page, "admin")


async def test_a_member_of_workspace_a_cannot_see_workspace_b_by_changing_the_url(browser, site) -> None:
    page = await sign_in(browser, site, admin=False, user="U2")
    b_video = site.jobs["tb1"]
    for path in ("/w/slack/TB/gallery", "/w/slack/TB/queue", "/w/slack/TB/usage", "/w/slack/TB/admin",
                 f"/w/slack/TB/videos/{b_video.id}.mp4", f"/w/slack/TA/videos/{b_video.id}.mp4"):
        response = await page.goto(site.base + path)
        assert response.status == 404, path
        assert "secret" not in await page.content()
    response = await page.goto(site.base + f"/w/slack/TA/videos/{site.jobs['ta1'].id}.mp4")
    assert response.status == 200


async def test_usage_charts_and_quota_left(browser, site) -> None:
    page = await sign_in(browser, site)
    await page.click("header >> text=Usage")
    await page.wait_for_url("**/usage")
    assert await page.locator("#chart-videos svg rect[fill^='#']").count() >= 2  # Ada and Grace stacked
    assert "$0.84" in await page.inner_text("#top-users")  # Ada: 0.28 + 0.56, as usage_report adds it
    assert "Grace" in await page.inner_text("#quota-left")
    await shot(page, "usage")
    await page.click("text=stack by provider")
    await page.wait_for_url("**by=provider**")
    assert "fal" in await page.inner_text("#chart-dollars")


async def test_a_budget_change_is_refused_without_the_csrf_token_and_logged_with_it(browser, site) -> None:
    page = await sign_in(browser, site)
    await page.click("header >> text=Admin")
    await page.wait_for_url("**/w/slack/TA/admin")
    assert "no daily spending limit of its own" in await page.inner_text("#budget")
    await page.fill("#budget-form input[name=usd]", "12.5")
    await page.eval_on_selector("#budget-form input[name=csrf]", "e => e.remove()")
    async with page.expect_response("**/w/slack/TA/admin") as answer:
        await page.click("#budget-set")
    assert (await answer.value).status == 403
    assert "CSRF" in await page.inner_text("body")
    assert await site.store.admin_log("slack", "TA") == []
    assert (await site.store.workspace_budget("slack", "TA", day="2000-01-01")).usd is None
    await page.goto(site.base + "/w/slack/TA/admin")
    await page.fill("#budget-form input[name=usd]", "12.5")
    await page.click("#budget-set")
    await page.wait_for_selector("#said.ok")
    assert "daily spending limit is now $12.50" in await page.inner_text("#said")
    ((_, actor, action, detail),) = await site.store.admin_log("slack", "TA")
    assert (actor, action, detail) == ("slack:U1", "budget", "12.50")
    assert "$12.50" in await page.inner_text("#budget") and "budget 12.50" in await page.inner_text("#admin-log")
    assert (await site.store.workspace_budget("slack", "TA", day="2000-01-01")).usd == 12.5
    # A value the browser's own check would stop, sent anyway: the core refuses it in plain words.
    async with page.expect_response("**/w/slack/TA/admin") as answer:
        await page.eval_on_selector("#budget-form", "f => { f.usd.type = 'text'; f.usd.value = '-3'; f.submit(); }")
    assert (await answer.value).status == 400
    await page.wait_for_selector("#said.error")
    assert "A budget is an amount of US dollars" in await page.inner_text("#said")
    assert len(await site.store.admin_log("slack", "TA")) == 1
    await page.goto(site.base + "/w/slack/TA/usage")  # the usage page shows the cap, to members as well
    assert "$12.50 a day, set by its admins" in await page.inner_text("#budget")
    assert "Bot-wide: no limit" in await page.inner_text("#budget")
    await page.goto(site.base + "/w/slack/TA/admin")
    await page.click("#budget-off")
    await page.wait_for_selector("#said.ok")
    assert "limit is removed" in await page.inner_text("#said")
    assert [(a, act, d) for _, a, act, d in await site.store.admin_log("slack", "TA")] == [
        ("slack:U1", "budget", "off"), ("slack:U1", "budget", "12.50")]
    assert (await site.store.workspace_budget("slack", "TA", day="2000-01-01")).usd is None
