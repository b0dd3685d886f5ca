"""Discord interactions in the inbox: the gateway's raw payload kept, and rebuilt for a replay."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import discord

KEEP = 4096  # raw payloads waiting to be recorded; an interaction is recorded within moments of arriving


class RawInteractions:
    """Keeps each INTERACTION_CREATE payload as the gateway sent it, until the adapter records it.

    discord.py builds an Interaction from the payload and drops the dict; a replay after a crash
    needs the dict itself to build the same Interaction again (token, channel, member, data).
    """

    def __init__(self) -> None:
        self._raw: OrderedDict[int, dict[str, Any]] = OrderedDict()

    def install(self, client: discord.Client) -> None:
        """Wrap the client's INTERACTION_CREATE parser so every payload passes through here first."""
        state = client._connection  # discord.py offers no public hook for the raw payload
        parse = state.parsers["INTERACTION_CREATE"]

        def keep(data: dict[str, Any]) -> None:
            self._raw[int(data["id"])] = data
            while len(self._raw) > KEEP:
                self._raw.popitem(last=False)
            parse(data)

        state.parsers["INTERACTION_CREATE"] = keep

    def pop(self, interaction_id: int) -> dict[str, Any] | None:
        """The raw payload of this interaction, handed over once."""
        return self._raw.pop(interaction_id, None)


def rebuild(client: discord.Client, raw: dict[str, Any]) -> discord.Interaction:
    """The Interaction a recorded payload describes, taken to be already deferred (its 3 s are long gone)."""
    interaction = discord.Interaction(data=raw, state=client._connection)  # type: ignore[arg-type]
    # A replay only ever follows up: the first answer was sent, or its window has closed.
    interaction.response._response_type = discord.InteractionResponseType.deferred_channel_message
    return interaction
