"""Every knob, read from environment variables (and an optional `.env`), built once in main()."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


@dataclass(frozen=True)
class Price:
    """What one video costs: quota credits, and the provider's list price for reports and the budget."""

    credits: int
    usd: float


def header_problem(value: str) -> str | None:
    """Why `value` cannot travel in an HTTP header (control characters, non-ASCII letters), or None."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "contains a line break or another control character"
    if not value.isascii():
        return "contains a non-ASCII character"
    return None


def _clean_secret(value: object) -> object:
    """A secret without the whitespace pasting leaves around it; refused when a header cannot carry it."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not isinstance(value, str):
        return value
    value = value.strip()
    # The message names the problem, never the value: pydantic errors are printed at start-up,
    # and a key sent anyway fails at every call as if the network were down.
    if (problem := header_problem(value)) is not None:
        raise ValueError(f"{problem}; set it again as one line of printable ASCII")
    return value


# Every token, key and secret: sent in headers (or signed with), so trimmed and checked on load.
Secret = Annotated[SecretStr | None, BeforeValidator(_clean_secret)]


class Settings(BaseSettings):
    """The bot's configuration; every field is documented in `.env.example`."""

    # Inputs stay out of validation errors: a rejected setting may be a key, and errors get printed.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False,
                                      hide_input_in_errors=True)

    hailuo_provider: Literal["local", "minimax", "cloudflare", "replicate", "fal"] = "local"
    hailuo_fallback_provider: Literal["", "local", "minimax", "cloudflare", "replicate", "fal"] = ""
    failover_after_seconds: float = Field(120.0, gt=0)
    minimax_api_key: Secret = None
    minimax_base_url: str = "https://api.minimax.io"
    minimax_model: str = "MiniMax-Hailuo-2.3"
    cloudflare_account_id: str | None = None
    cloudflare_api_token: Secret = None
    cloudflare_base_url: str = "https://api.cloudflare.com/client/v4"
    replicate_api_token: Secret = None
    replicate_base_url: str = "https://api.replicate.com/v1"
    replicate_model: str = "minimax/hailuo-2.3"
    replicate_webhook_secret: Secret = None
    fal_key: Secret = None
    fal_queue_url: str = "https://queue.fal.run"
    fal_fast: bool = False
    hailuo_default_model: Literal["standard", "fast"] = "standard"  # image jobs; text-only ones are always standard

    public_base_url: str | None = None
    callback_port: int = 8080
    callback_secret: Secret = None

    database_url: str = "sqlite:///hailuo-bot.db"
    media_dir: Path = Path("./videos")

    discord_token: Secret = None
    discord_guild_ids: str = ""
    discord_api_base_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg/"
    discord_shard_count: int | None = Field(None, ge=1)
    discord_shard_ids: str = ""

    slack_bot_token: Secret = None
    slack_app_token: Secret = None
    slack_signing_secret: Secret = None
    slack_port: int = 3000
    slack_api_url: str = "https://slack.com/api/"

    quota_user_daily_credits: int = Field(10, ge=0)
    quota_workspace_daily_credits: int = Field(100, ge=0)
    quota_user_max_in_flight: int = Field(2, ge=1)
    extend_max_clips: int = Field(5, ge=1)  # clips in one chain (Extend), the first included
    credits_768p_6s: int = Field(1, ge=0)
    credits_768p_10s: int = Field(2, ge=0)
    credits_1080p_6s: int = Field(2, ge=0)
    credits_fast_768p_6s: int = Field(1, ge=0)
    credits_fast_768p_10s: int = Field(1, ge=0)
    credits_fast_1080p_6s: int = Field(1, ge=0)

    price_768p_6s_usd: float = Field(0.28, ge=0)
    price_768p_10s_usd: float = Field(0.56, ge=0)
    price_1080p_6s_usd: float = Field(0.49, ge=0)
    # The Fast model's list prices (MiniMax's, which every host repeats): image-to-video only.
    price_fast_768p_6s_usd: float = Field(0.19, ge=0)
    price_fast_768p_10s_usd: float = Field(0.32, ge=0)
    price_fast_1080p_6s_usd: float = Field(0.33, ge=0)
    provider_prices: str = ""
    budget_daily_usd: float | None = Field(None, ge=0)
    blocked_terms: str = ""
    slack_admin_user_ids: str = ""

    job_timeout_minutes: float = Field(60.0, gt=0)
    poll_first_seconds: float = Field(5.0, gt=0)
    poll_max_seconds: float = Field(30.0, gt=0)
    provider_submits_per_minute: int = Field(5, ge=1)
    provider_max_in_flight: int = Field(5, ge=1)
    delivery_attempts: int = Field(5, ge=1)
    upload_timeout_seconds: float = Field(600.0, gt=0)
    # The platforms' limits the bot keeps under, shared by every process (README "Platform rate limits").
    status_edit_seconds: float = Field(3.0, gt=0)  # at most one status edit per job this often
    slack_posts_per_second: float = Field(1.0, gt=0)  # chat.postMessage per channel
    slack_edits_per_minute: float = Field(45.0, gt=0)  # chat.update per workspace (Slack: about 50)
    slack_uploads_per_minute: float = Field(90.0, gt=0)  # files upload v2 calls per workspace (Slack: about 100)
    discord_messages_per_second: float = Field(1.0, gt=0)  # message posts, and edits, per channel (Discord: 5 per 5 s)
    shutdown_grace_seconds: float = Field(30.0, ge=0)
    lease_seconds: float = Field(30.0, gt=0)

    local_delay_seconds: float = Field(8.0, ge=0)
    local_fps: int = Field(24, ge=1, le=60)

    metrics_port: int | None = None
    # The web page (web/): off unless WEB_PORT is set; sign-in through Slack (OpenID Connect) or Discord (OAuth2).
    web_port: int | None = None
    web_secret: Secret = None
    web_login_minutes: float = Field(10.0, gt=0)
    slack_client_id: str | None = None
    slack_client_secret: Secret = None
    slack_authorize_url: str = "https://slack.com/openid/connect/authorize"
    discord_client_id: str | None = None
    discord_client_secret: Secret = None
    discord_authorize_url: str = "https://discord.com/oauth2/authorize"
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    @property
    def database_kind(self) -> Literal["sqlite", "postgresql"]:
        """Which database DATABASE_URL names; ValueError (naming DATABASE_URL) for any other scheme."""
        return database_kind(self.database_url)

    @property
    def database_path(self) -> str:
        """The SQLite file named by DATABASE_URL (or `:memory:`); ValueError when it names PostgreSQL."""
        return sqlite_path(self.database_url)

    def price_of(self, resolution: str, duration: int, *, provider: str | None = None, model: str = "") -> Price:
        """Credits and estimated dollars of one video on `provider` running `model`.

        Credits: CREDITS_<RES>_<DUR>S, or CREDITS_FAST_<RES>_<DUR>S for the Fast model. Dollars: a
        PROVIDER_PRICES entry for this provider (and model kind) if there is one, else
        PRICE_<RES>_<DUR>S_USD, or PRICE_FAST_<RES>_<DUR>S_USD for the Fast model (every host lists
        MiniMax's own prices). `model` is `fast`, or a model name with "fast" in it, for the Fast model.
        """
        kind = f"{resolution.lower()}_{duration}s"
        usd = self.usd_of(resolution, duration, provider=provider, model=model)
        return Price(getattr(self, f"credits_{'fast_' if 'fast' in model.lower() else ''}{kind}"), usd)

    def usd_of(self, resolution: str, duration: int, *, provider: str | None = None, model: str = "") -> float:
        """The estimated dollars of one video (see price_of); 0 for a kind with no price."""
        kind = f"{resolution.lower()}_{duration}s"
        fast = "fast" in model.lower()
        usd = getattr(self, f"price_{'fast_' if fast else ''}{kind}_usd", 0.0)
        if provider is not None:
            usd = self.provider_price_table.get(f"{provider}{'-fast' if fast else ''}:{kind}", usd)
        return usd

    @property
    def provider_price_table(self) -> dict[str, float]:
        """PROVIDER_PRICES (`replicate:768P_6S=0.30, fal-fast:1080P_6S=0.33`) as {"replicate:768p_6s": 0.30}."""
        table: dict[str, float] = {}
        for entry in self.provider_prices.replace(";", ",").split(","):
            if not entry.strip():
                continue
            try:
                name, value = entry.split("=")
                table[name.strip().lower()] = float(value)
            except ValueError:
                raise ValueError(f"PROVIDER_PRICES: cannot read {entry.strip()!r}; write PROVIDER:768P_6S=0.28, "
                                 "one entry per comma") from None
        return table

    @property
    def blocked_term_list(self) -> list[str]:
        """BLOCKED_TERMS as lower-case terms."""
        return [t.strip().lower() for t in self.blocked_terms.split(",") if t.strip()]

    @property
    def shard_ids(self) -> list[int] | None:
        """DISCORD_SHARD_IDS as integers: the shards this process holds; None for all (or no sharding)."""
        if self.discord_shard_count is None:
            return None
        ids = [int(part) for part in self.discord_shard_ids.replace(" ", "").split(",") if part]
        if any(i >= self.discord_shard_count for i in ids):
            raise ValueError("DISCORD_SHARD_IDS must be below DISCORD_SHARD_COUNT")
        return ids or list(range(self.discord_shard_count))

    @property
    def guild_ids(self) -> list[int]:
        """DISCORD_GUILD_IDS as integers."""
        return [int(part) for part in self.discord_guild_ids.replace(" ", "").split(",") if part]


_SQLITE_PREFIXES = ("sqlite:///", "sqlite://")


def database_kind(url: str) -> Literal["sqlite", "postgresql"]:
    """`sqlite` for sqlite:///PATH or sqlite://, `postgresql` for postgresql:// or postgres://."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    raise ValueError("DATABASE_URL must start with sqlite:///, postgresql:// or postgres://, "
                     f"got {url.split(':', 1)[0]}:...")


def sqlite_path(url: str) -> str:
    """The file a sqlite:/// URL names (`:memory:` for sqlite://)."""
    if database_kind(url) != "sqlite":
        raise ValueError("DATABASE_URL names a PostgreSQL server, not a SQLite file; this needs a sqlite:/// URL")
    for prefix in _SQLITE_PREFIXES:
        if url.startswith(prefix):
            return url[len(prefix):] or ":memory:"
    raise ValueError(f"DATABASE_URL must start with sqlite:///, got {url.split(':', 1)[0]}:...")
