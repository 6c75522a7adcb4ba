"""Who sees a trader's personal data. The one rule every response, page and audit view goes through.

The rule (DESIGN §6, issue "Merchants" point 8):
- admin sees everything;
- the merchant's own team sees the full phone: volunteers and the leader call the trader;
- the CCCD (personal ID number) is shown in full only to the leader of the merchant's own team
  (who checks identity and merges duplicates) and to admins; volunteers see it masked;
- officers (commune, province) work on statistics and are read-mostly: phone and CCCD masked;
- anyone outside the merchant's team (e.g. a duplicate found in another commune) sees neither.
A tax code of 12 digits is a personal ID number (household businesses since 1 July 2025), so it is
treated like the CCCD; 10- and 13-digit business tax codes are public and always shown.
"""

import uuid
from typing import Any

import msgspec

from service.accounts.schemas import CurrentUser
from service.merchants.identifiers import format_phone, mask_cccd, mask_phone


class Visibility(msgspec.Struct, frozen=True):
    phone: bool
    id_number: bool


def visibility(user: CurrentUser, *, team_id: uuid.UUID | None) -> Visibility:
    if user.role == "admin":
        return Visibility(phone=True, id_number=True)
    own_team = user.team_id is not None and user.team_id == team_id
    if own_team and user.role == "team_leader":
        return Visibility(phone=True, id_number=True)
    if own_team and user.role == "volunteer":
        return Visibility(phone=True, id_number=False)
    return Visibility(phone=False, id_number=False)


def _is_personal_tax_code(value: str) -> bool:
    return len(value) == 12


def shown(field: str, value: Any, seen: Visibility) -> Any:
    """The value of a field as this reader may see it (masked as `•••• 5678` when not allowed)."""
    if not isinstance(value, str) or not value:
        return value
    if field == "owner_phone" and not seen.phone:
        return mask_phone(value)
    if field == "owner_id_number" and not seen.id_number:
        return mask_cccd(value)
    if field == "tax_code" and _is_personal_tax_code(value) and not seen.id_number:
        return mask_cccd(value)
    return value


def masked_fields(values: dict[str, Any], seen: Visibility) -> list[str]:
    return sorted(
        f
        for f in ("owner_phone", "owner_id_number", "tax_code")
        if shown(f, values.get(f), seen) != values.get(f)
    )


def display_phone(value: str | None, seen: Visibility) -> str:
    """For pages: `0912 345 678` when allowed, `•••• 5678` otherwise."""
    if not value:
        return ""
    return format_phone(value) if seen.phone else mask_phone(value)


# --- erasure (data_rights.py) --------------------------------------------------------------------

# What an erased record holds instead of personal data. The phone column is NOT NULL (a schema
# change for this alone is not worth a migration): the empty string, which no E.164 number equals,
# marks the record as erased for every check (duplicates, edits, exports).
ERASED_NAME = "Đã xóa"
ERASED_PHONE = ""
# A cooperative's or micro-enterprise's name and business tax code belong to a legal person, not
# to the trader: they stay. Household businesses, stalls and vendors are often named after the
# owner ("Bánh lọc Bà Tư"), so their business name is erased too.
LEGAL_PERSON_KINDS = frozenset({"cooperative", "micro_enterprise"})


def is_erased(merchant: Any) -> bool:
    return getattr(merchant, "owner_phone", None) == ERASED_PHONE


def mask_name(name: str) -> str:
    """`Đ. T. T.` for `Đặng Thị Thiện`: initials only, for a reader outside the record's scope."""
    return " ".join(f"{word[0]}." for word in name.split() if word) or "—"
