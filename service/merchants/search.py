"""Search rules without the database: what a query string means, the cursor, name similarity.

A query is matched three ways at once: its folded text inside `search_fold` (business name, owner
name and market, lower case without diacritics, đ→d), the phone it spells (any format) against
`owner_phone`, and — for readers allowed to see phones — its digits anywhere inside the number.
"""

import base64
import binascii
import contextlib
import difflib
import json
import re
import uuid
from datetime import datetime

import msgspec

from service.merchants.identifiers import IdentifierError, normalize_phone
from service.text import fold

MIN_PHONE_DIGITS = 4
SIMILAR_NAME_RATIO = 0.9
_PHONEISH = re.compile(r"[0-9+().\-\s]+")


class Query(msgspec.Struct, frozen=True):
    text: str  # folded; "" matches everything
    phone: str | None = None  # E.164 when the query is a whole phone number
    digits: str | None = None  # a digit run to find inside owner_phone (E.164 without +84/0)


def parse_query(q: str, *, partial_phone: bool) -> Query:
    text = fold(q or "")
    raw = (q or "").strip()
    if not raw or not _PHONEISH.fullmatch(raw):
        return Query(text=text)
    phone = None
    with contextlib.suppress(IdentifierError):
        phone = normalize_phone(raw, mobile_only=False)
    digits = re.sub(r"[^0-9]", "", raw)
    if digits.startswith("84") and len(digits) >= 11:
        digits = digits[2:]
    digits = digits.lstrip("0")  # "0912 345" → "912345", which E.164 "+84912345678" contains
    partial = digits if partial_phone and len(digits) >= MIN_PHONE_DIGITS else None
    return Query(text=text, phone=phone, digits=partial)


# --- cursor ------------------------------------------------------------------------------------


class CursorError(ValueError):
    pass


def encode_cursor(sort: str, key: tuple[str | datetime, uuid.UUID]) -> str:
    first = key[0].isoformat() if isinstance(key[0], datetime) else key[0]
    raw = json.dumps([sort, first, str(key[1])], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[str | datetime, uuid.UUID]:
    """The sort key of the last row on the previous page; refuses cursors of another sort order."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, first, last_id = json.loads(raw)
        if kind != sort or not isinstance(first, str):
            raise CursorError(cursor)
        return (datetime.fromisoformat(first) if sort == "recent" else first), uuid.UUID(last_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise CursorError(cursor) from exc


# --- similar names -----------------------------------------------------------------------------


def length_window(name_fold: str, ratio: float = SIMILAR_NAME_RATIO) -> tuple[int, int]:
    """Lengths a name may have and still reach `ratio` with `name_fold`.

    ratio = 2·M / (a + b) with M ≤ min(a, b), so min/max ≥ ratio / (2 − ratio): a SQL prefilter on
    length that never drops a true match.
    """
    n = len(name_fold)
    factor = ratio / (2 - ratio)
    return int(n * factor), int(n / factor) + 1


def similar_names(a: str, b: str, ratio: float = SIMILAR_NAME_RATIO) -> bool:
    """Two folded names are the same business: equal, or difflib ratio ≥ 0.9."""
    if a == b:
        return True
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.real_quick_ratio() >= ratio and matcher.quick_ratio() >= ratio and matcher.ratio() >= ratio
