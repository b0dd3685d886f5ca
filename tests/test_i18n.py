"""Languages (issue 18): the catalogs are complete, every message renders in Chinese, plurals and formats are right."""

from __future__ import annotations

import importlib
import pkgutil
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from adapters.console.translate import render_status
from adapters.discord import app as discord_app
from adapters.discord import port as discord_port
from adapters.discord.translate import status_embed
from adapters.slack import opener as slack_opener
from adapters.slack import translate as slack_translate
from adapters.slack.translate import modal_view, regenerate_blocks, status_message
from bot import i18n, messages
from bot.i18n import Template, Text, render
from bot.ports import StatusView

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "plural": (2, 3)}
# ASCII words a Chinese message may keep: formats and units, commands and options members type, settings names.
ALLOWED = {
    "768P", "1080P", "1080p", "MP4", "PNG", "JPEG", "WebP", "UTC", "UTF", "Hailuo", "Slack", "Discord", "DISCORD_TOKEN",
    "SLACK_BOT_TOKEN", "MEDIA_DIR", "video", "quota", "status", "history", "help", "set", "block", "unblock",
    "channels", "allow", "remove", "usage", "log", "language", "invite", "duration", "resolution", "optimizer",
    "fast", "image", "out", "mp4", "USD", "zh", "CN", "budget", "off", "cancel",
}
ALLOWED |= {"EXTEND_MAX_CLIPS", "extend"}  # Remix and Extend
ALLOWED |= {"preset", "save", "list", "use", "delete", "workspace", "NAME", "TEXT", "PROMPT", "noir"}  # presets
ALLOWED |= {"repost"}  # history: `repost JOB`, the command members type
ALLOWED |= {"model", "standard", "camera", "prompt_optimizer", "fast_pretreatment", "admin", "Pan", "left",
            "Pedestal", "up", "remix"}  # options: the Fast model, camera moves (commands stay as the model reads them)


def _extracted() -> dict[str, str | tuple[str, str]]:
    """Every message in bot/messages/, as Babel's extractor finds it (the same run that builds hailuo.pot)."""
    found = {}
    for path in sorted((ROOT / "bot/messages").glob("*.py")):
        for _, message, _, _ in extract_from_file("python", path, keywords=KEYWORDS):
            found[message[0] if isinstance(message, tuple) else message] = message
    return found


def _catalog(lang: str):
    with (ROOT / f"bot/locale/{lang}/LC_MESSAGES/hailuo.po").open("rb") as f:
        return read_po(f, locale=lang)


def _templates() -> dict[str, Template]:
    """Every message constant of every module in bot/messages/: templates, and those in tuples and dicts."""
    found: dict[str, Template] = {}
    names = [m.name for m in pkgutil.iter_modules(messages.__path__)]
    modules = [messages] + [importlib.import_module(f"bot.messages.{name}") for name in names]
    for module in modules:
        for name, value in vars(module).items():
            where = name if module is messages else f"{module.__name__.rsplit('.', 1)[1]}.{name}"
            if isinstance(value, Template):
                found[where] = value
            elif isinstance(value, dict):
                found.update({f"{where}[{k}]": v for k, v in value.items() if isinstance(v, Template)})
            elif isinstance(value, tuple):
                found.update({f"{where}[{i}]": v for i, v in enumerate(value) if isinstance(v, Template)})
    return found


def _sample(field: str) -> object:
    """A sample value for a placeholder: numbers for counts, a nested message or a neutral id otherwise."""
    if field in ("help",):
        return messages.ADMIN_HELP
    if field in ("reset", "elapsed"):
        return messages.duration_text(12_000)
    if field in ("reason",):
        return messages.PROVIDER_FAILED
    if field in ("status",):
        return messages.STATUS_LABELS["processing"]
    if field in ("settings",):
        return i18n.join(", ", messages.settings_words(6, "768P", has_image=True, prompt_optimizer=False,
                                                       fast_pretreatment=True))
    if field in ("who",):
        return messages.THIS_WORKSPACE
    if field in ("language",):
        return i18n.language_name("zh_CN")
    if field in ("prompt", "term", "name"):
        return "一只纸船"
    if field in ("when",):
        return 1_800_000_000
    return 3


def _render_all(lang: str) -> dict[str, str]:
    out = {}
    for name, template in _templates().items():
        fields = {f for _, f, _, _ in string.Formatter().parse(template.msgid) if f}  # type: ignore[attr-defined]
        text = template.format(**{f: _sample(f) for f in fields}) if fields else template
        out[name] = render(text, lang)
    return out


def test_the_template_is_in_step_with_the_messages() -> None:
    # hailuo.pot is what `pybabel extract` makes of bot/messages.py (see README, Languages): regenerate it if not.
    with (ROOT / "bot/locale/hailuo.pot").open("rb") as f:
        pot = {m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(f) if m.id}
    assert pot == set(_extracted())


def test_every_message_has_a_chinese_translation_with_the_same_placeholders() -> None:
    catalog = _catalog("zh_CN")
    assert catalog.plural_forms == "nplurals=1; plural=0;"
    missing, broken = [], []
    for key, msgid in _extracted().items():
        entry = catalog.get(msgid[0] if isinstance(msgid, tuple) else msgid)
        if entry is None or entry.fuzzy or not all(entry.string if isinstance(entry.string, tuple)
                                                    else [entry.string]):
            missing.append(key)
            continue
        said = entry.string[0] if isinstance(entry.string, tuple) else entry.string
        if sorted(re.findall(r"\{[^}]*\}", said)) != sorted(re.findall(r"\{[^}]*\}", key)):
            broken.append(key)
    assert missing == [] and broken == []


def test_no_english_is_left_in_the_chinese_run_of_every_message() -> None:
    left = {}
    for name, text in _render_all("zh_CN").items():
        words = {w for w in re.findall(r"[A-Za-z][A-Za-z_]{2,}", text) if w not in ALLOWED}
        if words:
            left[name] = (sorted(words), text)
        assert "{" not in text, (name, text)  # every placeholder filled
    assert left == {}


def test_english_runs_are_the_source_words() -> None:
    english = _render_all("en")
    assert english["ACCEPTED"] == ("Got it! Your video is queued (3 credits; 3 left today). "
                                   "I'll post it here when it's ready.")
    assert all(not re.search(r"[\u4e00-\u9fff]", t.replace("一只纸船", "")) for t in english.values())


@pytest.mark.parametrize(("lang", "words"), [("en", ["0 credits", "1 credit", "2 credits"]),
                                             ("zh_CN", ["0 积分", "1 积分", "2 积分"])])
def test_plural_forms_for_zero_one_and_two_credits(lang: str, words: list[str]) -> None:
    said = [render(messages.ACCEPTED.format(cost=n, left=5), lang) for n in (0, 1, 2)]
    assert [w in s for w, s in zip(words, said, strict=True)] == [True, True, True]
    assert render(messages.REGENERATE_BUTTON.format(cost=1), lang).endswith(
        {"en": "(1 credit)", "zh_CN": "（1 积分）"}[lang])
    assert render(messages.REGENERATE_BUTTON.format(cost=2), lang).endswith(
        {"en": "(2 credits)", "zh_CN": "（2 积分）"}[lang])


def test_numbers_durations_dates_and_money_follow_the_locale() -> None:
    text = messages.ADMIN_USAGE.format(days=7, jobs=1234, delivered=1200, failed=34, credits=2400, usd=1234.5)
    assert render(text, "en") == ("Last 7 days: 1,234 videos, 1,200 delivered, 34 failed; 2,400 credits and "
                                  "$1,234.50 spent.")
    assert render(text, "zh_CN") == ("最近 7 天：共 1,234 个视频，送达 1,200 个，失败 34 个；"
                                     "花费 2,400 积分、US$1,234.50。")
    assert render(messages.duration_text(3 * 3600 + 20 * 60), "en") == "3 h 20 min"
    assert render(messages.duration_text(3 * 3600 + 20 * 60), "zh_CN") == "3 小时 20 分钟"
    line = messages.HISTORY_LINE.format(when=1_800_000_000, job="j1", status=messages.STATUS_LABELS["delivered"],
                                        prompt="a cat", duration=6, resolution="768P")
    assert render(line, "en") == "Jan 15, 2027 08:00 j1 Delivered: a cat (6 s, 768P)"
    assert render(line, "zh_CN") == "2027年1月15日 08:00 j1 已送达：a cat（6 秒，768P）"
    assert render(messages.IMAGE_TOO_LARGE.format(mb=21.25), "zh_CN") == "这张图片有 21.2 MB，图片必须小于 20 MB。"


def test_prompts_are_never_translated() -> None:
    # A prompt that happens to be a message is still the member's own words.
    caption = messages.VIDEO_CAPTION.format(prompt="Preparing", settings="6 s")
    assert render(caption, "zh_CN") == "你的视频来了：“Preparing”（6 s）。"
    view = _view("zh_CN", prompt="Failed")
    assert status_embed(view).description == "Failed"
    assert status_message(view)[1][0]["text"]["text"].endswith("Failed")


def test_platform_locales_are_normalized_to_the_languages_spoken() -> None:
    assert [i18n.normalize(t) for t in ("zh-CN", "zh_CN.UTF-8", "zh-Hans", "zh", "en-US", "en_GB.UTF-8")] == \
        ["zh_CN", "zh_CN", "zh_CN", "zh_CN", "en", "en"]
    assert [i18n.normalize(t) for t in ("zh-TW", "fr", "C.UTF-8", "POSIX", "", None, "not a tag")] == [None] * 7
    assert i18n.available() == ("en", "zh_CN")
    assert i18n.from_environment({"LANG": "zh_CN.UTF-8"}) == "zh_CN"
    assert i18n.from_environment({"LANG": "C.UTF-8", "LANGUAGE": "zh_CN"}) is None
    assert i18n.from_environment({"LANG": "en_US.UTF-8", "LC_ALL": "zh_CN.UTF-8"}) == "zh_CN"
    assert i18n.from_environment({}) is None


def test_the_adapters_own_words_come_from_the_catalog() -> None:
    for text in (slack_translate.NO_URLS, slack_opener.NOT_IN_CHANNEL, discord_port.TOO_LARGE, discord_port.LINK_TEXT):
        assert isinstance(text, Text) and render(text, "zh_CN") != str(text)
    assert not [n for n, v in vars(discord_app).items() if n.isupper() and isinstance(v, str) and " " in v]
    view = _view("zh_CN")
    embed = status_embed(view).to_dict()
    assert embed["title"] == "生成中"
    assert [f["name"] for f in embed["fields"]] == ["设置", "已用时间", "排队位置", "积分"]
    assert embed["fields"][0]["value"] == "6 秒 · 768P · 以图片为首帧"
    assert embed["fields"][3]["value"] == "2 (今天还剩 8)"
    text, blocks = status_message(view)
    flat = str(blocks)
    assert text == "<@U1> 的视频：生成中" and "排在第 2 位" in flat and "2 积分" in flat and "任务 `j1`" in flat
    assert render_status(view) == "[j1] 生成中 · 1 分 5 秒 · 排在第 2 位"
    form = modal_view({"channel": "C1"}, locale="zh_CN")
    assert form["title"]["text"] == "生成视频" and form["blocks"][1]["element"]["options"][1]["text"]["text"] == "10 秒"
    assert form["blocks"][1]["element"]["options"][1]["value"] == "10"
    assert regenerate_blocks("j1", 2, "zh_CN")[0]["elements"][0]["text"]["text"] == "重新生成（2 积分）"


def _view(locale: str, prompt: str = "一只纸船") -> StatusView:
    return StatusView(job_id="j1", user_id="U1", prompt=prompt, duration=6, resolution="768P", prompt_optimizer=True,
                      fast_pretreatment=False, has_image=True, status="processing",
                      status_label=render(messages.STATUS_LABELS["processing"], locale), elapsed_seconds=65.0, cost=2,
                      credits_left=8, queue_position=2, locale=locale)
