"""Logging set-up: one line per event, optional JSON, and secrets scrubbed from every line."""

from __future__ import annotations

import json
import logging
import re
import sys

from pydantic import SecretStr

from bot.config import Settings

# Shapes of credentials worth hiding even when they did not come from our settings.
_PATTERNS = re.compile(
    r"(xox[abposr]-[0-9A-Za-z-]{8,}|xapp-[0-9A-Za-z-]{8,}|Bearer\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|[MN][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,})"
)


class RedactingFormatter(logging.Formatter):
    """Formats records (as text or JSON) and replaces any known secret with `***`."""

    def __init__(self, secrets: list[str], *, as_json: bool = False) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)
        self.as_json = as_json

    def scrub(self, text: str) -> str:
        """Hide every secret in `text`."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return _PATTERNS.sub("***", text)

    def format(self, record: logging.LogRecord) -> str:
        if self.as_json:
            entry = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                     "message": record.getMessage()}
            if record.exc_info:
                entry["exc"] = self.formatException(record.exc_info)
            return self.scrub(json.dumps(entry))
        return self.scrub(super().format(record))


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold, as plain strings, for scrubbing."""
    values = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            values.append(value.get_secret_value())
    return values


def setup_logging(settings: Settings, *, quiet: bool = False) -> None:
    """Send logs to stderr at LOG_LEVEL (at least WARNING when `quiet`), secrets scrubbed."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(secret_values(settings), as_json=settings.log_format == "json"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = logging.getLevelName(settings.log_level.upper())
    level = level if isinstance(level, int) else logging.INFO
    root.setLevel(max(level, logging.WARNING) if quiet else level)
    for noisy in ("httpx", "httpcore", "discord.gateway", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
