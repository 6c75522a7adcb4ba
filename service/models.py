"""Every area's models, imported so that the metadata Alembic compares against is complete."""

from service.accounts.models import ApiToken, Team, User
from service.audit import AuditEntry
from service.idempotency import IdempotencyRecord
from service.merchants.models import Merchant
from service.onboarding.models import MerchantStage, StageEvent, Visit
from service.payments.models import PaymentAccount, Poster
from service.places.models import Commune, Province, Village

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Commune",
    "IdempotencyRecord",
    "Merchant",
    "MerchantStage",
    "PaymentAccount",
    "Poster",
    "Province",
    "StageEvent",
    "Team",
    "User",
    "Village",
    "Visit",
]
