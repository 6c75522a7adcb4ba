"""One-time sign-in codes: 8 characters of Crockford base32 (40 random bits), shown as "7K3M-Q9TX".

Read aloud over the phone or copied from a note by someone who then chooses their password. The
alphabet has no I, L, O or U, and reading forgives lower case, I or L for 1, O for 0, spaces and
dashes. Guessing is bounded by the sign-in throttle, the 72-hour life and single use; only an
Argon2 hash of the code is stored.
"""

import re
import secrets
from datetime import timedelta

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8
LIFETIME = timedelta(hours=72)
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = re.compile(r"[\s\-.]")
_CODE = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize(text: str) -> str | None:
    """The canonical code for what someone typed, or None if it cannot be a code."""
    if not isinstance(text, str) or len(text) > 4 * LENGTH:
        return None
    code = _SEPARATORS.sub("", text).upper().translate(_READ_AS)
    return code if _CODE.fullmatch(code) else None


def display(code: str) -> str:
    half = LENGTH // 2
    return f"{code[:half]}-{code[half:]}"
