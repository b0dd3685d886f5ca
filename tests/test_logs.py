"""Secrets never reach the logs."""

import io
import logging

from bot.cli.logs import RedactingFormatter, secret_values
from bot.config import Settings


def test_settings_secrets_and_token_shapes_are_scrubbed() -> None:
    settings = Settings(_env_file=None, minimax_api_key="mm-secret-key-123456", slack_signing_secret="s1gn1ngsecret")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter(secret_values(settings)))
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("key=%s sig=%s", "mm-secret-key-123456", "s1gn1ngsecret")
        logger.warning("slack xoxb-1234567890-abcdefghij and Authorization: Bearer abc.def.ghijkl")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    for secret in ("mm-secret-key-123456", "s1gn1ngsecret", "xoxb-1234567890", "abc.def.ghijkl"):
        assert secret not in text
    assert text.count("***") == 4


def test_json_format_is_one_object_per_line() -> None:
    import json

    formatter = RedactingFormatter(["topsecret"], as_json=True)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "job %s uses topsecret", ("j1",), None)
    entry = json.loads(formatter.format(record))
    assert entry["message"] == "job j1 uses ***" and entry["level"] == "INFO"
