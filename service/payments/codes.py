"""Poster verification codes: 8 characters of Crockford base32, from 40 random bits.

Short enough to type from a sticker, long enough not to be guessed: with ten million posters
printed, one random try in about 100,000 hits one. Crockford's alphabet has no I, L, O or U, and
reading forgives what people do when typing: lower case, I or L for 1, O for 0, spaces and dashes.
Codes are shown, printed and put in URLs as two groups of four: "7K3M-Q9TX".
"""

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8
_BITS = 5 * LENGTH
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = re.compile(r"[\s\-.]")
_CODE = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")


def new_code() -> str:
    """A fresh random code (canonical form, no dash); the caller checks it is not taken."""
    value = secrets.randbits(_BITS)
    return "".join(ALPHABET[(value >> shift) & 31] for shift in range(_BITS - 5, -1, -5))


def normalize(text: str) -> str | None:
    """The canonical code for what someone typed or scanned, or None if it cannot be a code."""
    if not isinstance(text, str) or len(text) > 4 * LENGTH:
        return None
    code = _SEPARATORS.sub("", text).upper().translate(_READ_AS)
    return code if _CODE.fullmatch(code) else None


def display(code: str) -> str:
    """ "7K3MQ9TX" → "7K3M-Q9TX": how a code is printed and linked."""
    half = LENGTH // 2
    return f"{code[:half]}-{code[half:]}"
