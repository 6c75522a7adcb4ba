"""Jurisdiction: who may see what. Every query over area-bound rows goes through `Scope.where`."""

import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, false, true

Level = Literal["all", "province", "commune", "team"]


@dataclass(frozen=True)
class Scope:
    level: Level
    province_code: str | None = None
    commune_code: str | None = None
    team_id: uuid.UUID | None = None

    def where(
        self,
        *,
        province: ColumnElement | None = None,
        commune: ColumnElement | None = None,
        team: ColumnElement | None = None,
    ) -> ColumnElement[bool]:
        """A filter for a query, given the row's province, commune and team columns.

        A row without the column a level needs is outside that scope (never silently visible).
        """
        if self.level == "all":
            return true()
        if self.level == "province":
            return province == self.province_code if province is not None else false()
        if self.level == "commune":
            return commune == self.commune_code if commune is not None else false()
        return team == self.team_id if team is not None else false()

    def allows_area(self, *, province_code: str | None, commune_code: str | None = None) -> bool:
        """Whether a province or commune lies inside this jurisdiction (teams work in their commune)."""
        if self.level == "all":
            return True
        if self.level == "province":
            return province_code == self.province_code
        return commune_code is not None and commune_code == self.commune_code
