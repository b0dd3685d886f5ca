"""The invite URL with exactly the scopes and permissions the bot needs."""

from __future__ import annotations

import base64
import binascii

from adapters.discord.translate import PERMISSIONS, PERMISSIONS_INTEGER

SCOPES = "bot applications.commands"


def application_id_from_token(token: str) -> str | None:
    """A bot token's first part is its user id in base64; for bots that is the application id."""
    head = token.split(".", 1)[0]
    try:
        decoded = base64.b64decode(head + "=" * (-len(head) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded if decoded.isdigit() else None


def invite_url(application_id: str) -> str:
    """The OAuth2 URL a server admin opens to add the bot."""
    return (f"https://discord.com/oauth2/authorize?client_id={application_id}"
            f"&scope={SCOPES.replace(' ', '+')}&permissions={PERMISSIONS_INTEGER}")


def permission_names() -> list[str]:
    """The permissions in the invite, as Discord names them."""
    return [name.replace("_", " ").title() for name in PERMISSIONS]
