"""Merchants over JSON: registration (idempotent), search, detail, edits, deletion, merges, the audit
trail, the jurisdiction's export and a trader's own data."""

import uuid
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, Parameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from service import idempotency
from service.accounts.guards import requires_user
from service.audit import AuditOut
from service.errors import Forbidden
from service.merchants.data_rights import DataRightsService, ErasureResult
from service.merchants.merge import MergeService
from service.merchants.responses import PAGE_SIZE, export_stream, survivor_path
from service.merchants.schemas import (
    ConflictOut,
    DuplicatesOut,
    ErasureIn,
    MerchantFilters,
    MerchantIn,
    MerchantOut,
    MerchantPage,
    MerchantPatch,
    MergedOut,
    MergeIn,
    MergeOut,
    SubjectIn,
)
from service.merchants.services import (
    MerchantMerged,
    MerchantService,
    PossibleDuplicates,
    StaleVersion,
)
from service.openapi import FileDownload
from service.web import replay_response, utcnow


def _api_merged(request: Request, exc: MerchantMerged) -> Response:
    """GET of a merged record: 301 to the survivor, with a body that names it (for clients that do
    not follow redirects). A write to it: 409 with the same body (the caller's version is gone)."""
    status = 301 if request.method == "GET" else 409
    body = MergedOut(status_code=status, detail=exc.text(), merged_into_id=exc.survivor_id)
    headers = {"Location": survivor_path(request, exc.survivor_id)} if status == 301 else {}
    return Response(body, status_code=status, headers=headers, media_type=MediaType.JSON)


class MerchantApi(Controller):
    path = "/api/v1/merchants"
    tags = ["merchants"]
    guards = [requires_user]
    exception_handlers = {MerchantMerged: _api_merged}

    @post(
        "/",
        name="api.merchants.create",
        status_code=201,
        responses={
            409: ResponseSpec(
                DuplicatesOut, description="Likely already registered: `duplicates`", generate_examples=False
            )
        },
    )
    async def create(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[MerchantIn],
        idempotency_key: Annotated[
            str | None, HeaderParameter(name="Idempotency-Key", required=False, min_length=1, max_length=200)
        ] = None,
    ) -> Response[MerchantOut]:
        """Register a trader. 409 with `duplicates` for a likely existing record (repeat with their
        ids in `not_duplicate_of` to register anyway). Retries with the same Idempotency-Key, or
        the same client `id`, return the first response (201, same body, header
        `Idempotent-Replayed: true`); the same key with another body is refused with 422."""
        merchants = MerchantService(db_session)
        digest = idempotency.request_hash("POST", "/api/v1/merchants", data)
        try:
            result, replayed = await merchants.register_once(
                by=request.user, data=data, key=idempotency_key, request_hash=digest, at=utcnow()
            )
        except PossibleDuplicates as exc:
            return Response(DuplicatesOut(detail=exc.text(), duplicates=exc.duplicates), status_code=409)  # type: ignore[return-value]
        return replay_response(result, replayed=replayed)  # type: ignore[return-value]

    @get("/", name="api.merchants.list")
    async def search(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        q: Annotated[str, Parameter(max_length=200)] = "",
        province_code: FromQuery[str | None] = None,
        commune_code: FromQuery[str | None] = None,
        village_id: FromQuery[uuid.UUID | None] = None,
        team_id: FromQuery[uuid.UUID | None] = None,
        kind: FromQuery[str | None] = None,
        category: FromQuery[str | None] = None,
        stage: FromQuery[str | None] = None,
        sort: Annotated[str, Parameter(pattern="^(recent|name)$")] = "recent",
        cursor: Annotated[str | None, Parameter(max_length=400)] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = PAGE_SIZE,
    ) -> MerchantPage:
        """Search (accent- and case-insensitive; phone in any format) with filters; cursor pagination."""
        filters = MerchantFilters(
            q=q,
            province_code=province_code,
            commune_code=commune_code,
            village_id=village_id,
            team_id=team_id,
            kind=kind,
            category=category,
            stage=stage,
            sort=sort,  # type: ignore[arg-type]
        )
        return await MerchantService(db_session).search(
            by=request.user, filters=filters, cursor=cursor, limit=limit
        )

    @get("/{merchant_id:uuid}", name="api.merchants.detail")
    async def detail(
        self, request: Request, db_session: NamedDependency[AsyncSession], merchant_id: FromPath[uuid.UUID]
    ) -> MerchantOut:
        merchants = MerchantService(db_session)
        return merchants.out(await merchants.get(by=request.user, merchant_id=merchant_id), by=request.user)

    @get("/{merchant_id:uuid}/audit", name="api.merchants.audit")
    async def audit_entries(
        self, request: Request, db_session: NamedDependency[AsyncSession], merchant_id: FromPath[uuid.UUID]
    ) -> list[AuditOut]:
        """The change history, for team leaders and officers; personal values masked per role."""
        detail = await MerchantService(db_session).detail(by=request.user, merchant_id=merchant_id)
        if detail.audit is None:
            raise Forbidden()
        return detail.audit

    @patch(
        "/{merchant_id:uuid}",
        name="api.merchants.update",
        responses={
            409: ResponseSpec(
                ConflictOut | DuplicatesOut,  # type: ignore[arg-type]
                description="Changed since `version` (`current` is the record now), or likely a duplicate",
                generate_examples=False,
            )
        },
    )
    async def update(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: JSONBody[MerchantPatch],
    ) -> Response[MerchantOut]:
        """Change fields. `version` must be the one last read: otherwise 409 with `current`."""
        merchants = MerchantService(db_session)
        try:
            merchant = await merchants.update(
                by=request.user,
                merchant_id=merchant_id,
                version=data.version,
                changes=data.changes(),
                at=utcnow(),
                not_duplicate_of=data.not_duplicate_of,
            )
        except StaleVersion as exc:
            current = merchants.out(exc.current, by=request.user)
            return Response(ConflictOut(detail=exc.text(), current=current), status_code=409)  # type: ignore[return-value]
        except PossibleDuplicates as exc:
            return Response(DuplicatesOut(detail=exc.text(), duplicates=exc.duplicates), status_code=409)  # type: ignore[return-value]
        return Response(merchants.out(merchant, by=request.user))

    @delete("/{merchant_id:uuid}", name="api.merchants.delete", status_code=204)
    async def remove(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        version: FromQuery[int | None] = None,
    ) -> None:
        await MerchantService(db_session).delete(
            by=request.user, merchant_id=merchant_id, at=utcnow(), version=version
        )

    @post("/{merchant_id:uuid}/merge", name="api.merchants.merge", status_code=200)
    async def merge(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: JSONBody[MergeIn],
    ) -> Response[MergeOut]:
        """Merge `duplicate_id` into this record (team leaders inside their team, officers in their
        area). The duplicate's visits, stages, payment accounts and storefront move here; it stays as
        a tombstone whose GET answers 301 to this record. 409 with `current` on a stale version."""
        merchants = MerchantService(db_session)
        try:
            result = await MergeService(db_session).merge(
                by=request.user,
                survivor_id=merchant_id,
                duplicate_id=data.duplicate_id,
                at=utcnow(),
                survivor_version=data.version,
                duplicate_version=data.duplicate_version,
            )
        except StaleVersion as exc:
            current = merchants.out(exc.current, by=request.user)
            return Response(ConflictOut(detail=exc.text(), current=current), status_code=409)  # type: ignore[return-value]
        survivor = await merchants.get(by=request.user, merchant_id=merchant_id)
        out = MergeOut(
            survivor=merchants.out(survivor, by=request.user),
            merged_id=result.merged_id,
            moved=result.moved,
            left_behind=result.left_behind,
        )
        return Response(out)

    @get("/export", name="api.merchants.export", operation_class=FileDownload)
    async def export(
        self, request: Request, format: Annotated[str, Parameter(pattern="^(csv|xlsx)$")] = "csv"
    ) -> Stream:
        """Every merchant of the caller's jurisdiction as CSV (UTF-8 with BOM) or XLSX, with personal
        data masked as the caller sees it. Team leaders and officers."""
        return export_stream(request, format)

    @post("/data-subject-export", name="api.merchants.subject_export", status_code=200)
    async def subject_export(
        self, request: Request, db_session: NamedDependency[AsyncSession], data: JSONBody[SubjectIn]
    ) -> dict[str, Any]:
        """Everything held about one trader (by phone or CCCD) in the caller's area, unmasked, for a
        data-subject request: records (also deleted or merged), audit, rows of other areas. Audited."""
        return await DataRightsService(db_session).subject_export(
            by=request.user, phone=data.phone, id_number=data.id_number, at=utcnow()
        )

    @post("/{merchant_id:uuid}/erasure", name="api.merchants.erase", status_code=200)
    async def erase(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: JSONBody[ErasureIn],
    ) -> ErasureResult:
        """Erase the trader's personal data (commune officers, admins); statistics stay."""
        return await DataRightsService(db_session).erase(
            by=request.user, merchant_id=merchant_id, at=utcnow(), version=data.version
        )
