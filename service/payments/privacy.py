"""Who sees a payment account number in full. The one rule every payments response, page and audit
view goes through (the same style as `merchants.privacy`).

The rule:
- admin and the merchant's own team (volunteers and the leader) see the full number: they type it
  on the form and read it back to the trader against the banking app;
- officers (commune, province) work on statistics: the number is masked (`•••• 5678`);
- the public verification page `/v/{code}` and the printed poster show it masked to everyone.
The QR itself necessarily carries the full number (a payer's app needs it), so the QR images, the
posters and `payment-qr` go to everyone who may see the merchant: the same code hangs at the stall.
The account holder's name is not masked: the poster prints it and payers' apps show it.
"""

import uuid
from typing import Any

from service.accounts.schemas import CurrentUser
from service.payments.models import ERASED_PREFIX
from service.payments.poster import mask_account

_TEAM_ROLES = ("volunteer", "team_leader")


def sees_account_number(user: CurrentUser, *, team_id: uuid.UUID | None) -> bool:
    if user.role == "admin":
        return True
    return user.role in _TEAM_ROLES and user.team_id is not None and user.team_id == team_id


def shown_account(account: str, *, full: bool) -> str:
    return account if full else mask_account(account)


def may_change_accounts(user: CurrentUser, *, team_id: uuid.UUID | None) -> bool:
    """Adding, choosing the primary and removing: the people who sit with the trader, and admins.
    Officers are read-mostly (DESIGN §6), and they only ever see masked numbers."""
    return sees_account_number(user, team_id=team_id)


def is_erased_account(account: Any) -> bool:
    """An account whose number and holder were erased at the trader's request (see models.py)."""
    return getattr(account, "account", "").startswith(ERASED_PREFIX)
