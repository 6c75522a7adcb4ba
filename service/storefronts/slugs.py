"""Readable public addresses: `bun-bo-co-ba-cho-dong-ba` from the folded name and place."""

from collections.abc import Callable

from service.text import fold

MAX_LENGTH = 80


def base_slug(*parts: str | None) -> str:
    """Folded words of the parts joined by '-', cut at a word boundary. A part already contained in
    the text before it is left out ("Bún bò chợ Đông Ba" at "Chợ Đông Ba" names the market once)."""
    text = ""
    for part in parts:
        folded = fold(part or "")
        if folded and f" {folded} " not in f" {text} ":
            text = f"{text} {folded}".strip()
    words = text.split()
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > MAX_LENGTH:
            break
        slug = candidate
    return slug or "gian-hang"


def unique_slug(base: str, taken: Callable[[str], bool]) -> str:
    """`base`, or `base-2`, `base-3`… whichever is free."""
    if not taken(base):
        return base
    n = 2
    while taken(f"{base}-{n}"):
        n += 1
    return f"{base}-{n}"
