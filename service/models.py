"""Every area's models, imported so that the metadata Alembic compares against is complete."""

# The areas that react to what happens to a trader (merchants.events) register their listeners here.
import service.onboarding.reactions
import service.reports.counters  # noqa: F401
from service.accounts.models import ApiToken, SignInCode, Team, User
from service.audit import AuditEntry
from service.idempotency import IdempotencyRecord
from service.merchants.models import Merchant
from service.onboarding.models import MerchantStage, StageEvent, Visit
from service.payments.models import PaymentAccount, PaymentCheckin, Poster
from service.places.models import Commune, Province, Village
from service.reports.models import Feedback, ReportCount, Target
from service.storefronts.models import (
    EditLink,
    Product,
    StoredImage,
    Storefront,
    StorefrontReach,
    StorefrontSlug,
)

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Commune",
    "EditLink",
    "Feedback",
    "IdempotencyRecord",
    "Merchant",
    "MerchantStage",
    "PaymentAccount",
    "PaymentCheckin",
    "Poster",
    "Product",
    "Province",
    "ReportCount",
    "SignInCode",
    "StageEvent",
    "StoredImage",
    "Storefront",
    "StorefrontReach",
    "StorefrontSlug",
    "Target",
    "Team",
    "User",
    "Village",
    "Visit",
]
