"""Which Hailuo 2.3 model a video uses: the standard one, or the cheaper, quicker Fast one (image jobs only)."""

from __future__ import annotations

from bot import camera
from bot.commands import CommandRequest
from bot.config import Settings
from bot.contract import MODELS, InvalidRequest
from bot.messages import options as words

STANDARD, FAST = MODELS
MINIMAX_STANDARD = "MiniMax-Hailuo-2.3"
MINIMAX_FAST = "MiniMax-Hailuo-2.3-Fast"
REPLICATE_STANDARD = "minimax/hailuo-2.3"
# What a member may type for each model (`--model fast`, `--model MiniMax-Hailuo-2.3-Fast`), lower-cased.
_NAMES = {STANDARD: STANDARD, "std": STANDARD, "2.3": STANDARD, MINIMAX_STANDARD.lower(): STANDARD,
          FAST: FAST, "2.3-fast": FAST, MINIMAX_FAST.lower(): FAST}


def parse_model(value: str | None) -> str | None:
    """`fast`, `standard` (or MiniMax's own names) as a model; None when not given; InvalidRequest otherwise."""
    if value is None or not str(value).strip():
        return None
    model = _NAMES.get(str(value).strip().lower())
    if model is None:
        raise InvalidRequest(words.BAD_MODEL.format(got=value))
    return model


def replicate_models(model: str) -> tuple[str, str | None]:
    """REPLICATE_MODEL's standard and Fast model names; no Fast one for a model other than Hailuo 2.3's."""
    standard = model.removesuffix("-fast")
    return standard, f"{standard}-fast" if standard == REPLICATE_STANDARD else None


def offers_fast(settings: Settings, provider: str) -> bool:
    """Whether `provider`, as configured, can run the Fast model (every host of Hailuo 2.3 lists it)."""
    if provider == "replicate":
        return replicate_models(settings.replicate_model)[1] is not None
    return provider in ("local", "minimax", "cloudflare", "fal")


def operator_default(settings: Settings, provider: str) -> str:
    """The model image jobs get when the member does not choose: HAILUO_DEFAULT_MODEL, or a provider set to Fast.

    MINIMAX_MODEL=MiniMax-Hailuo-2.3-Fast, REPLICATE_MODEL=minimax/hailuo-2.3-fast and FAL_FAST=true said
    so before there was a choice per video; they still do, for image jobs (text-only ones use the standard model).
    """
    if settings.hailuo_default_model == FAST:
        return FAST
    legacy = {"minimax": settings.minimax_model == MINIMAX_FAST,
              "replicate": settings.replicate_model.endswith("-fast"), "fal": settings.fal_fast}
    return FAST if legacy.get(provider, False) else STANDARD


def model_for(settings: Settings, provider: str, chosen: str | None, *, has_image: bool) -> str:
    """The model a new video uses: the member's choice (checked), else the operator's default for an image job.

    Raises InvalidRequest, before anything is charged, for the Fast model without an image or on a
    provider that does not offer it; the operator's Fast default never applies to a text-only video.
    """
    model = parse_model(chosen)
    if model == FAST:
        if not has_image:
            raise InvalidRequest(words.FAST_NEEDS_IMAGE)
        if not offers_fast(settings, provider):
            raise InvalidRequest(words.FAST_NOT_OFFERED.format(provider=provider))
        return FAST
    if model is None and has_image and offers_fast(settings, provider):
        return operator_default(settings, provider)
    return STANDARD


def prompt_with_camera(req: CommandRequest) -> str:
    """The member's prompt with the camera moves they picked in a form or an option added in one bracket."""
    prompt, problem = camera.with_moves(req.prompt or "", req.camera)
    if problem is not None:
        raise InvalidRequest(problem)
    return prompt
