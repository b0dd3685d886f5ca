"""Usage: videos and dollars per day (stacked by user or provider), top users this month, quota left per user,
the daily budget.

Every figure comes from Store.usage_report, the query behind `hailuo-bot usage`, Store.usage, the one
behind `/video quota`, and Store.workspace_budget, the one behind `/video admin budget`: nothing is counted a
second way here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape

from aiohttp import web

from bot.days import utc_day
from bot.store import UsageRow
from web.charts import stacked_bars
from web.context import WEB, WebContext
from web.html import page, workspace_url


def by_day(rows: list[UsageRow], key: str, value: str) -> dict[str, dict[str, float]]:
    """{series: {day: total}} of one UsageRow field, the series being each row's `key` (user_id or provider)."""
    out: dict[str, dict[str, float]] = {}
    for r in rows:
        series = out.setdefault(getattr(r, key) or "?", {})
        series[r.day] = series.get(r.day, 0.0) + float(getattr(r, value))
    return out


async def usage(request: web.Request) -> web.Response:
    """Charts and tables of a workspace's use."""
    ctx = request.app[WEB]
    session, platform, workspace = ctx.scope(request)
    s = ctx.settings
    now = datetime.fromtimestamp(ctx.clock(), UTC)
    try:
        days = min(92, max(1, int(request.query.get("days", "30"))))
    except ValueError:
        days = 30
    stack = "provider" if request.query.get("by") == "provider" else "user_id"
    since = (now - timedelta(days=days - 1)).strftime("%Y-%m-%d")
    month = now.strftime("%Y-%m-01")
    rows = await ctx.store.usage_report(min(since, month), platform, workspace)
    period = [r for r in rows if r.day >= since]
    day_list = [(now - timedelta(days=days - 1 - i)).strftime("%Y-%m-%d") for i in range(days)]
    names = dict(await ctx.store.workspace_members(platform, workspace))
    label = (lambda k: k) if stack == "provider" else (lambda k: names.get(k) or k)
    videos = {label(k): v for k, v in by_day(period, stack, "delivered").items()}
    dollars = {label(k): v for k, v in by_day(period, stack, "usd").items()}
    base = workspace_url(platform, workspace)
    switch = "provider" if stack == "user_id" else "user"
    body = (f'<p>Last {days} days, stacked by {"provider" if stack == "provider" else "user"} · '
            f'<a href="{base}/usage?days={days}&amp;by={switch}">stack by {switch}</a> · '
            f'<a href="{base}/usage?days=7">7 days</a> · <a href="{base}/usage?days=30">30 days</a></p>'
            f'<div id="chart-videos">{stacked_bars("Videos delivered per day", day_list, videos)}</div>'
            f'<div id="chart-dollars">{stacked_bars("Dollars per day", day_list, dollars, money=True)}</div>')
    top: dict[str, list[float]] = {}
    for r in rows:
        if r.day >= month:
            t = top.setdefault(r.user_id, [0, 0, 0.0])
            t[0], t[1], t[2] = t[0] + r.delivered, t[1] + r.credits_captured, t[2] + r.usd
    ranked = sorted(top.items(), key=lambda kv: (-kv[1][2], -kv[1][0]))[:10]
    body += ("<h2>Top users this month</h2><table id=\"top-users\"><tr><th>user</th><th>videos</th><th>credits</th>"
             "<th>dollars</th></tr>" + "".join(
                 f"<tr><td>{escape(names.get(u) or u)}</td><td>{int(v)}</td><td>{int(c)}</td><td>${d:.2f}</td></tr>"
                 for u, (v, c, d) in ranked) + "</table>")
    today = utc_day(ctx.clock())
    quota_rows = []
    for uid, name in await ctx.store.workspace_members(platform, workspace):
        u = await ctx.store.usage(platform, workspace, uid, day=today, user_limit=s.quota_user_daily_credits,
                                  workspace_limit=s.quota_workspace_daily_credits)
        quota_rows.append(f"<tr><td>{escape(name or uid)}</td><td>{u.user_used - u.user_held}</td>"
                          f"<td>{u.user_held}</td><td>{u.user_left}</td><td>{u.user_limit}</td></tr>")
    body += ("<h2>Quota left today</h2><table id=\"quota-left\"><tr><th>user</th><th>used</th><th>held</th>"
             "<th>left</th><th>daily limit</th></tr>" + "".join(quota_rows) + "</table>")
    body += f'<h2>Daily budget</h2><p id="budget">{await _budget(ctx, platform, workspace, today)}</p>'
    return page("Usage", body, session=session, where=(platform, workspace), active="usage")


async def _budget(ctx: WebContext, platform: str, workspace: str, today: str) -> str:
    """This workspace's own dollar cap (its admins') and spend today, and the bot-wide ceiling (the operator's)."""
    own = await ctx.store.workspace_budget(platform, workspace, day=today)
    ceiling = ctx.settings.budget_daily_usd
    cap = "none of its own" if own.usd is None else f"${own.usd:.2f} a day, set by its admins"
    return (f"This workspace: {cap}; ${own.spent_usd:.2f} spent or held today. Bot-wide: "
            + ("no limit" if ceiling is None else f"${ceiling:.2f} a day, set by the operator") + ".")


def add_routes(app: web.Application) -> None:
    """The usage page."""
    app.router.add_get("/w/{platform}/{workspace}/usage", usage)
