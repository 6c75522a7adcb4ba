"""Every area's models, imported so that the metadata Alembic compares against is complete."""

from service.accounts.models import ApiToken, Team, User
from service.places.models import Commune, Province, Village

__all__ = ["ApiToken", "Commune", "Province", "Team", "User", "Village"]
