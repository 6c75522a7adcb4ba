"""Vietnamese text rules: NFC at the edge, a folded key for accent-insensitive search, sorting."""

import re
import unicodedata

_FOLD_EXTRA = {0x0110: "D", 0x0111: "d", 0x00D0: "D", 0x00F0: "d"}  # đ has no decomposition
_NON_WORD = re.compile(r"[\W_]+")


def nfc(value: str) -> str:
    """Trimmed NFC text: what every input is stored as."""
    return unicodedata.normalize("NFC", value).strip()


def nfc_or_none(value: str | None) -> str | None:
    """`nfc`, with an empty or missing text as None (an optional note)."""
    return (nfc(value) or None) if value is not None else None


def fold(value: str) -> str:
    """Search key: lower case, no diacritics, đ→d, punctuation collapsed to single spaces."""
    decomposed = unicodedata.normalize("NFKD", value)  # NFKD also folds full-width forms
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", stripped.translate(_FOLD_EXTRA).casefold()).strip()


_ALPHA = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_PRIMARY = {c: 0x20 + i for i, c in enumerate(_ALPHA)}
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}  # huyền hỏi ngã sắc nặng
_MODIFIERS = {"\u0306", "\u0302", "\u031b"}  # breve, circumflex, horn


def vi_sort_key(value: str) -> tuple:
    """Vietnamese alphabetical order (matches PostgreSQL's "vi-x-icu" collation)."""
    primary: list[tuple[int, str]] = []
    secondary: list[int] = []
    tertiary: list[int] = []
    for ch in unicodedata.normalize("NFD", value):
        if unicodedata.combining(ch):
            if ch in _TONES and secondary:
                secondary[-1] = _TONES[ch]
            elif ch in _MODIFIERS and primary:
                base = unicodedata.normalize("NFC", primary[-1][1] + ch)
                primary[-1] = (_PRIMARY.get(base, 0xFFFF), base)
            continue
        low = ch.lower()
        if low in _PRIMARY:
            weight = _PRIMARY[low]
        elif low in "0123456789":
            weight = 0x10 + int(low)
        elif low.isspace() or unicodedata.category(low)[0] in "PZS":
            weight = 0x01
        else:
            weight = 0x100 + ord(low)
        primary.append((weight, low))
        secondary.append(0)
        tertiary.append(0 if ch == low else 1)
    return (tuple(w for w, _ in primary), tuple(secondary), tuple(tertiary))
