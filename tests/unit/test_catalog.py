"""Every user-facing Vietnamese text has its English translation."""

from babel.messages.extract import extract_from_dir

from service.i18n import translations
from service.settings import PROJECT_ROOT

METHODS = [("**.py", "python"), ("**.j2", "jinja2")]
OPTIONS = {"**.j2": {"extensions": "jinja2.ext.i18n"}}


def _msgids() -> set[str]:
    ids: set[str] = set()
    for folder in ("service", "templates"):
        for _, _, message, _, _ in extract_from_dir(
            PROJECT_ROOT / folder,
            METHODS,
            keywords={"_": None, "N_": None, "gettext": None},
            options_map=OPTIONS,
        ):
            ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_every_message_has_an_english_translation() -> None:
    english = translations("en")
    ids = _msgids()
    assert len(ids) > 50
    untranslated = sorted(m for m in ids if english.gettext(m) == m)
    assert untranslated == []


def test_placeholders_survive_translation() -> None:
    english = translations("en")
    for message in _msgids():
        if "{" in message:
            names = {part.split("}")[0] for part in message.split("{")[1:]}
            translated = english.gettext(message)
            assert all("{" + name + "}" in translated for name in names), message
