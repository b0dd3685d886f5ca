"""The bot's languages: gettext catalogs compiled by Babel at load time, and texts rendered per member."""

from __future__ import annotations

import gettext
import io
import os
import re
import string
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

DOMAIN = "hailuo"
SOURCE = "en"  # the language the messages are written in; it needs no catalog
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# Plural units a template names in its format spec ("{cost:credits}"): singular and plural source forms.
UNITS: dict[str, tuple[str, str]] = {}
_FIXED = re.compile(r"\.(\d)f")


@cache
def available() -> tuple[str, ...]:
    """The languages the bot speaks: English, and one per catalog under bot/locale."""
    return (SOURCE, *sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")))


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """The catalog of `locale`, compiled from its .po file with Babel (English: the source itself)."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if locale == SOURCE or not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def normalize(tag: object) -> str | None:
    """`zh-CN`, `zh_CN.UTF-8`, `zh-Hans`, `zh` -> `zh_CN`; `en-US` -> `en`; None for a language not spoken."""
    return _normalize(str(tag or ""))


@lru_cache(maxsize=512)
def _normalize(tag: str) -> str | None:
    text = tag.split(".")[0].split("@")[0].replace("-", "_").strip()
    if not text or text in ("C", "POSIX"):
        return None
    try:
        parsed = Locale.parse(text)
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    spoken = available()
    if parsed.language == "zh" and (parsed.script == "Hant" or parsed.territory in ("TW", "HK", "MO")):
        return "zh_TW" if "zh_TW" in spoken else None  # Traditional Chinese readers get no Simplified text
    full = f"{parsed.language}_{parsed.territory}" if parsed.territory else parsed.language
    if full in spoken:
        return full
    return next((s for s in spoken if s.split("_")[0] == parsed.language), None)


def first_locale(*candidates: object) -> str | None:
    """The first of `candidates` the bot speaks, normalized."""
    return next((n for c in candidates if (n := normalize(c)) is not None), None)


def from_environment(env: dict[str, str] | None = None) -> str | None:
    """The terminal's language as gettext picks it: LANGUAGE (a list), else the first of LC_ALL, LC_MESSAGES, LANG."""
    env = dict(os.environ) if env is None else env
    chosen = next((env[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(k)), "")
    if normalize(chosen) is None and chosen.split(".")[0] in ("", "C", "POSIX"):
        return None  # gettext ignores LANGUAGE under the C locale
    return first_locale(*env.get("LANGUAGE", "").split(":"), chosen) or normalize(chosen)


def gettext_in(locale: str, message: str) -> str:
    """`message` translated into `locale` (itself when the catalog lacks it)."""
    return message if locale == SOURCE else translations(locale).gettext(message)


class Text(str):
    """A sentence whose str value is English and which `render(locale)` gives in any language the bot speaks."""

    def __new__(cls, make: Callable[[str], str]) -> Text:
        """Wrap `make(locale) -> str`; the English rendering becomes the str value."""
        obj = super().__new__(cls, make(SOURCE))
        obj._make = make  # type: ignore[attr-defined]
        return obj

    def render(self, locale: str | None) -> str:
        """This text in `locale` (English when None)."""
        return self._make(locale or SOURCE)  # type: ignore[attr-defined]


class Template(Text):
    """A message template marked for extraction: `_("...")`; `format(**values)` gives a lazily translated Text."""

    def __new__(cls, msgid: str) -> Template:
        """A template whose English form is `msgid`."""
        obj = super().__new__(cls, lambda locale: gettext_in(locale, msgid))
        obj.msgid = msgid  # type: ignore[attr-defined]
        return obj  # type: ignore[return-value]

    def format(self, *args: Any, **values: Any) -> Text:  # type: ignore[override]
        """The template filled in: numbers, money, plurals and nested texts rendered in each locale."""
        msgid = self.msgid  # type: ignore[attr-defined]
        return Text(lambda locale: _Formatter(locale).vformat(gettext_in(locale, msgid), args, values))


def plural(unit: str, singular: str, plural_form: str) -> None:
    """Declare a plural unit templates may name in a format spec: `{cost:credits}` -> "1 credit", "2 credits"."""
    UNITS[unit] = (singular, plural_form)


def join(separator: str, parts: Iterable[str]) -> Text:
    """`separator.join(parts)`, each part rendered in the reader's locale."""
    items = list(parts)
    return Text(lambda locale: separator.join(render(p, locale) for p in items))


def render(text: str, locale: str | None) -> str:
    """`text` in `locale`: a Text renders itself; a plain str is looked up as a message (a stored reason)."""
    if isinstance(text, Text):
        return text.render(locale)
    return gettext_in(locale or SOURCE, text) if text else text


def language_name(code: str) -> Text:
    """The name of the language `code`, in the reader's own language ("Chinese (China)", "中文 (中国)")."""
    return Text(lambda locale: Locale.parse(code).get_display_name(babel_locale(locale)) or code)


def said(exc: BaseException) -> str:
    """The words an exception carries for the member, still translatable (str(exc) would be English)."""
    return exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)


def babel_locale(locale: str | None) -> str:
    """The Babel locale that formats numbers and dates for `locale` (`en` formats as `en_US`)."""
    return "en_US" if (locale or SOURCE) == SOURCE else str(locale)


class _Formatter(string.Formatter):
    """str.format with locale-aware fields: plural units, `usd`, `n`, `.Nf`, `when` (a UTC timestamp)."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.babel = babel_locale(locale)

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Text):
            value = value.render(self.locale)
        if format_spec in UNITS:
            singular, plural_form = UNITS[format_spec]
            chosen = translations(self.locale).ngettext(singular, plural_form, int(value)) \
                if self.locale != SOURCE else (singular if int(value) == 1 else plural_form)
            return chosen.format(n=format_decimal(value, locale=self.babel))
        if format_spec == "usd":
            return format_currency(value, "USD", locale=self.babel)
        if format_spec == "when":
            moment = datetime.fromtimestamp(value, UTC)
            day = format_date(moment, "medium", locale=self.babel)
            return f"{day} {format_time(moment, 'HH:mm', locale=self.babel)}"
        if isinstance(value, int | float) and not isinstance(value, bool):
            if format_spec in ("n", "g"):
                return format_decimal(value, locale=self.babel)
            if fixed := _FIXED.fullmatch(format_spec):
                return format_decimal(value, format="#,##0." + "0" * int(fixed.group(1)), locale=self.babel)
        return super().format_field(value, format_spec)

