"""The `/video` form's fields beyond prompt, duration, resolution and image: the model, camera moves, two toggles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot import camera
from bot.messages import options as words

OPTIMIZER, FAST_PRETREATMENT = "prompt_optimizer", "fast_pretreatment"


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _option(value: str, text: str) -> dict[str, Any]:
    return {"text": _text(text), "value": value}


def option_blocks(say: Callable[[str], str]) -> list[dict[str, Any]]:
    """The form's blocks for the model, the camera moves (up to three) and the optimizer and pretreatment toggles."""
    toggles = [_option(OPTIMIZER, say(words.FORM_OPTIMIZER)),
               _option(FAST_PRETREATMENT, say(words.FORM_FAST_PRETREATMENT))]
    return [
        # No initial choice: left alone, an image job gets the operator's default model (bot/models.py).
        {"type": "input", "block_id": "model", "optional": True, "label": _text(say(words.FORM_MODEL)),
         "element": {"type": "static_select", "action_id": "model",
                     "placeholder": _text(say(words.FORM_MODEL_DEFAULT)),
                     "options": [_option("standard", say(words.FORM_MODEL_STANDARD)),
                                 _option("fast", say(words.FORM_MODEL_FAST))]}},
        {"type": "input", "block_id": "camera", "optional": True, "label": _text(say(words.FORM_CAMERA)),
         "hint": _text(say(words.FORM_CAMERA_HINT)),
         "element": {"type": "multi_static_select", "action_id": "camera", "max_selected_items": camera.MAX_COMBINED,
                     "placeholder": _text(say(words.FORM_CAMERA)),
                     "options": [_option(m, m) for m in camera.MOVES]}},
        {"type": "input", "block_id": "options", "optional": True, "label": _text(say(words.FORM_OPTIONS)),
         "element": {"type": "checkboxes", "action_id": "options", "options": toggles,
                     "initial_options": [toggles[0]]}},  # the optimizer is on unless unticked
    ]


def chosen(values: dict[str, Any]) -> dict[str, Any]:
    """The submitted form's model, camera moves and toggles as the request's fields (a field not in it: unset)."""
    def state(block: str) -> dict[str, Any]:
        return (values.get(block) or {}).get(block) or {}

    fields: dict[str, Any] = {"model": (state("model").get("selected_option") or {}).get("value"),
                              "camera": tuple(o["value"] for o in state("camera").get("selected_options") or [])}
    if "options" in values:  # a form opened before these toggles existed leaves both at their defaults
        ticked = {o.get("value") for o in state("options").get("selected_options") or []}
        fields.update(prompt_optimizer=OPTIMIZER in ticked, fast_pretreatment=FAST_PRETREATMENT in ticked)
    return fields
