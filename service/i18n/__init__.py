"""Vietnamese first, English through the Babel catalog in i18n/en. Message ids are the Vietnamese text.

The locale of the current request lives in a context variable set by LocaleMiddleware, so templates,
services and error handlers translate without passing the request around.
"""

import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
CATALOG_DIR = Path(__file__).parent

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> NullTranslations:
    """The catalog for a locale, compiled in memory from its .po file (no build step, no stale .mo)."""
    po_path = CATALOG_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as po:
        catalog = read_po(po, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def gettext(message: str, **params: object) -> str:
    text = translations(current_locale.get()).gettext(message)
    return text.format(**params) if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    text = translations(current_locale.get()).ngettext(singular, plural, n)
    return text.format(n=n, **params)


_ = gettext


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


def pick_locale(*candidates: str | None) -> str:
    for candidate in candidates:
        if candidate:
            code = candidate.split(",")[0].split(";")[0].strip().lower()[:2]
            if code in LOCALES:
                return code
    return DEFAULT_LOCALE
