"""Parts of the merchant page that higher areas draw (the storefront's state, ...).

The merchants area shows them without importing those areas: an area registers a section with
`@merchant_section(template)`, an async function of the session, the reader and the merchant's id
that returns the template's context (or None to show nothing). Sections are registered when their
area's routes are imported, which `create_app` does.
"""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.schemas import CurrentUser

Build = Callable[[AsyncSession, CurrentUser, uuid.UUID], Awaitable[dict[str, Any] | None]]
_SECTIONS: list[tuple[str, Build]] = []


class Section(msgspec.Struct, frozen=True):
    template: str
    context: dict[str, Any]


def merchant_section(template: str) -> Callable[[Build], Build]:
    def register(build: Build) -> Build:
        if all(existing is not build for _, existing in _SECTIONS):
            _SECTIONS.append((template, build))
        return build

    return register


async def sections(session: AsyncSession, *, by: CurrentUser, merchant_id: uuid.UUID) -> list[Section]:
    out = []
    for template, build in _SECTIONS:
        context = await build(session, by, merchant_id)
        if context is not None:
            out.append(Section(template=template, context=context))
    return out
