"""Round-robin order across users for jobs waiting for a provider slot."""

from bot.contract import VideoRequest
from bot.fairness import fair_order, positions
from bot.jobs import Job


def job(n: int, user: str) -> Job:
    return Job(id=f"{user}{n}", platform="p", workspace_id="w", channel_id="c", user_id=user,
               request=VideoRequest.build("x"), cost=1, provider="x", created_at=float(n))


def test_three_users_bursts_interleave() -> None:
    queued = [job(1, "a"), job(2, "a"), job(3, "a"), job(4, "b"), job(5, "b"), job(6, "c"), job(7, "a")]
    assert [j.id for j in fair_order(queued)] == ["a1", "b4", "c6", "a2", "b5", "a3", "a7"]
    assert positions(queued)["c6"] == 3 and positions(queued)["a7"] == 7


def test_empty() -> None:
    assert fair_order([]) == []
