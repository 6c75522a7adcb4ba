"""Payments over JSON: payment accounts, weekly check-ins, the merchant's payment QR and posters,
reading a trader's existing VietQR from its text or a photo, and the bank directory."""

import uuid
from dataclasses import dataclass
from typing import Annotated

import msgspec
from litestar import Controller, MediaType, Request, Response, delete, get, patch, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Encoding,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import FromPath, HeaderParameter, JSONBody, Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from service import idempotency, images
from service.accounts.guards import requires_user
from service.errors import ApiError, FieldErrors
from service.i18n import gettext
from service.payments import codes
from service.payments.banks import find_banks
from service.payments.checkins import CheckinService
from service.payments.models import Poster
from service.payments.photo import FORMATS, read_qr
from service.payments.printing import PosterService, verify_url
from service.payments.schemas import (
    BankOut,
    DecodedQR,
    DecodeIn,
    PaymentAccountIn,
    PaymentAccountOut,
    PaymentAccountPatch,
    PaymentCheckinIn,
    PaymentCheckinOut,
    PaymentQrOut,
    PosterOut,
)
from service.payments.services import PaymentService
from service.web import replay_response, utcnow

# Room for a photo just over the limit plus the multipart envelope, so that one gets the clear
# "file too large" message from photo.py; anything bigger is cut off unread with a 413.


_FORM_TYPES = (RequestEncodingType.MULTI_PART, RequestEncodingType.URL_ENCODED)


@dataclass
class DecodeOperation(Operation):
    """One path, two request shapes: Litestar documents a single body type per handler, so the
    multipart shape is added here by hand."""

    def __post_init__(self) -> None:
        payload = Schema(
            type=OpenAPIType.STRING,
            min_length=1,
            max_length=2000,
            description="The QR code's text, as a scanner app shows it.",
        )
        image = Schema(
            type=OpenAPIType.STRING,
            format=OpenAPIFormat.BINARY,
            description=f"A photo or screenshot of the QR code: {', '.join(FORMATS)}; at most 10 MiB "
            "and 40 megapixels.",
        )
        self.request_body = RequestBody(
            required=True,
            description="Either the QR text as JSON, or a photo as multipart/form-data (field `image`; "
            "a `payload` text field is accepted there too, the photo wins when both are sent).",
            content={
                "application/json": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT, required=["payload"], properties={"payload": payload}
                    )
                ),
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.OBJECT, properties={"image": image, "payload": payload}),
                    encoding={"image": Encoding(content_type="image/*")},
                ),
            },
        )


def _json_too_large(request: Request, exc: RequestEntityTooLarge) -> Response:
    message = gettext(images.TOO_LARGE)
    return Response(
        {"status_code": 413, "detail": message, "errors": [{"field": "image", "message": message}]},
        status_code=413,
        media_type=MediaType.JSON,
    )


class PaymentQrApi(Controller):
    path = "/api/v1"
    tags = ["payments"]

    @post(
        "/payment-qr/decode",
        name="api.payment_qr.decode",
        summary="Read a VietQR transfer from its text or a photo",
        description="For importing the QR a trader already uses. Send the scanned text as JSON, or a "
        "photo (multipart field `image`). The first VietQR transfer found is returned with its bank; "
        "other QR codes (web links, VNPAY-QR, merchant QRPUSH) are refused with the reason.",
        guards=[requires_user],
        status_code=200,
        request_max_body_size=images.UPLOAD_MAX_BODY,
        operation_class=DecodeOperation,
        exception_handlers={RequestEntityTooLarge: _json_too_large},
        responses={
            401: ResponseSpec(ApiError, description="No valid bearer token", generate_examples=False),
            413: ResponseSpec(ApiError, description="Body over 11 MiB, not read", generate_examples=False),
            422: ResponseSpec(
                ApiError,
                description="Not a VietQR transfer, no QR code found, or not a usable image; "
                "`errors[0].field` is `payload` or `image` and its message names the reason",
                generate_examples=False,
            ),
        },
    )
    async def decode(self, request: Request) -> DecodedQR:
        """Read a trader's existing VietQR from its text or from a photo of it."""
        if request.content_type[0] in _FORM_TYPES:
            form = await request.form()
            payload, qr = await read_qr(form.getall("image", []), form.get("payload"))
        else:
            payload, qr = await read_qr(None, _decode_json(await request.body()).payload)
        return DecodedQR.of(payload, qr)

    @get(
        "/banks",
        name="api.banks",
        summary="The bank directory",
        cache_control=CacheControlHeader(public=True, max_age=24 * 3600),
    )
    async def bank_directory(self, q: Annotated[str, Parameter(max_length=100)] = "") -> list[BankOut]:
        """The NAPAS bank directory by VietQR BIN; `q` filters by name, ignoring accents and case."""
        return [BankOut.of(bank) for bank in find_banks(q)]


def _decode_json(body: bytes) -> DecodeIn:
    # Parsed by hand because the same path also takes multipart; errors read as Litestar's own do.
    try:
        return msgspec.json.decode(body, type=DecodeIn)
    except msgspec.ValidationError as exc:
        raise ValidationException(extra=[{"message": str(exc)}]) from None
    except msgspec.DecodeError:
        raise ValidationException(extra=[]) from None


def poster_out(request: Request, poster: Poster) -> PosterOut:
    code = codes.display(poster.code)
    return PosterOut(
        code=code,
        verify_url=verify_url(request.app.state.settings.public_url, poster.code),
        merchant_id=poster.merchant_id,
        payment_account_id=poster.payment_account_id,
        printed_at=poster.printed_at,
        png_url=request.app.route_reverse("payments.posters.png", code=code),
        pdf_url=request.app.route_reverse("payments.posters.pdf", code=code),
    )


_NOT_VISIBLE = ResponseSpec(
    ApiError, description="No such merchant or account in your jurisdiction", generate_examples=False
)


_ERASED = ResponseSpec(
    ApiError, description="The trader's personal data was erased: no QR any more", generate_examples=False
)


class PaymentAccountApi(Controller):
    path = "/api/v1/merchants/{merchant_id:uuid}"
    tags = ["payments"]
    guards = [requires_user]

    @post(
        "/payment-accounts",
        name="api.payment_accounts.create",
        status_code=201,
        responses={
            403: ResponseSpec(
                ApiError, description="Only the merchant's team and admins", generate_examples=False
            ),
            404: _NOT_VISIBLE,
            409: ResponseSpec(
                ApiError,
                description="Changed concurrently, or the client id is taken",
                generate_examples=False,
            ),
            422: ResponseSpec(
                ApiError, description="Field errors (bank, account, holder_name)", generate_examples=False
            ),
        },
    )
    async def create(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: JSONBody[PaymentAccountIn],
        idempotency_key: Annotated[
            str | None, HeaderParameter(name="Idempotency-Key", required=False, min_length=1, max_length=200)
        ] = None,
    ) -> Response[PaymentAccountOut]:
        """Add a receiving account. The first is primary; `is_primary` makes a later one primary.
        Retries with the same Idempotency-Key, or the same client `id`, return the first response
        (201, same body, header `Idempotent-Replayed: true`)."""
        digest = idempotency.request_hash("POST", f"/api/v1/merchants/{merchant_id}/payment-accounts", data)
        result, replayed = await PaymentService(db_session).add_once(
            by=request.user,
            merchant_id=merchant_id,
            data=data,
            key=idempotency_key,
            request_hash=digest,
            at=utcnow(),
        )
        return replay_response(result, replayed=replayed)  # type: ignore[return-value]

    @get("/payment-accounts", name="api.payment_accounts.list", responses={404: _NOT_VISIBLE})
    async def list_accounts(
        self, request: Request, db_session: NamedDependency[AsyncSession], merchant_id: FromPath[uuid.UUID]
    ) -> list[PaymentAccountOut]:
        """Live accounts, primary first. Numbers are masked for officers (see payments/privacy.py)."""
        return await PaymentService(db_session).accounts(by=request.user, merchant_id=merchant_id)

    @patch(
        "/payment-accounts/{account_id:uuid}",
        name="api.payment_accounts.update",
        responses={404: _NOT_VISIBLE},
    )
    async def make_primary(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        account_id: FromPath[uuid.UUID],
        data: JSONBody[PaymentAccountPatch],
    ) -> PaymentAccountOut:
        """`{"is_primary": true}` makes this the primary account (the old primary stops being one).
        Bank, number and holder do not change: add a new account and remove this one."""
        if not data.is_primary:
            raise FieldErrors([("is_primary", gettext("Hãy chọn một tài khoản khác làm tài khoản chính."))])
        payments = PaymentService(db_session)
        account = await payments.make_primary(
            by=request.user, merchant_id=merchant_id, account_id=account_id, at=utcnow()
        )
        return payments.out(account, full=True)

    @delete(
        "/payment-accounts/{account_id:uuid}",
        name="api.payment_accounts.delete",
        status_code=204,
        responses={404: _NOT_VISIBLE},
    )
    async def remove(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        account_id: FromPath[uuid.UUID],
    ) -> None:
        """Soft removal, audited; its printed posters stop verifying. Removing the primary makes
        the most recently added other account primary."""
        await PaymentService(db_session).remove(
            by=request.user, merchant_id=merchant_id, account_id=account_id, at=utcnow()
        )

    @get(
        "/payment-qr",
        name="api.merchants.payment_qr",
        responses={
            404: _NOT_VISIBLE,
            410: _ERASED,
            409: ResponseSpec(
                ApiError, description="The merchant has no payment account", generate_examples=False
            ),
            422: ResponseSpec(
                ApiError, description="Field errors on amount or purpose", generate_examples=False
            ),
        },
    )
    async def payment_qr(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        amount: Annotated[str | None, QueryParameter(max_length=64)] = None,
        purpose: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> PaymentQrOut:
        """The VietQR payload of the primary account. Without `amount` and `purpose` it is the
        static stall QR; with either it is a one-payment (dynamic) QR. `amount` in whole đồng
        (150000 or 150.000), below 500,000,000; `purpose` is transliterated (no diacritics) and
        must then fit 25 characters."""
        return await PaymentService(db_session).payment_qr(
            by=request.user, merchant_id=merchant_id, amount=amount, purpose=purpose
        )

    @post(
        "/posters",
        name="api.posters.create",
        status_code=201,
        responses={
            404: _NOT_VISIBLE,
            410: _ERASED,
            409: ResponseSpec(
                ApiError, description="The merchant has no payment account", generate_examples=False
            ),
        },
    )
    async def print_poster(
        self, request: Request, db_session: NamedDependency[AsyncSession], merchant_id: FromPath[uuid.UUID]
    ) -> PosterOut:
        """Print the stall poster of the primary account: its verification code (the same one again
        while the account is unchanged) and where to fetch the PNG and the PDF."""
        poster = await PosterService(db_session).print_poster(
            by=request.user, merchant_id=merchant_id, at=utcnow()
        )
        return poster_out(request, poster)


class PaymentCheckinApi(Controller):
    """The weekly question "how many customers paid by QR this week?", as the team records it; the
    trader answers on their edit link. Scoped like payment accounts."""

    path = "/api/v1/merchants/{merchant_id:uuid}/payment-checkins"
    tags = ["payments"]
    guards = [requires_user]

    @post(
        "/",
        name="api.payment_checkins.create",
        status_code=201,
        responses={
            200: ResponseSpec(
                PaymentCheckinOut,
                description="The week already had the team's answer: replaced, or the same again",
                generate_examples=False,
            ),
            403: ResponseSpec(
                ApiError, description="Only the merchant's team and admins", generate_examples=False
            ),
            404: _NOT_VISIBLE,
            409: ResponseSpec(
                ApiError, description="The trader's personal data was erased", generate_examples=False
            ),
            422: ResponseSpec(ApiError, description="Field errors (answer, day)", generate_examples=False),
        },
    )
    async def create(
        self,
        request: Request,
        db_session: NamedDependency[AsyncSession],
        merchant_id: FromPath[uuid.UUID],
        data: JSONBody[PaymentCheckinIn],
        idempotency_key: Annotated[
            str | None, HeaderParameter(name="Idempotency-Key", required=False, min_length=1, max_length=200)
        ] = None,
    ) -> Response[PaymentCheckinOut]:
        """Record the answer for the ISO week of `day` (default today, Vietnam's calendar) as the
        team's (source `volunteer`). One answer per week and source: a second one replaces the
        first (200). A positive answer supports a `qr_active` claim; it records no stage. Retries
        with the same Idempotency-Key return the first response (header `Idempotent-Replayed: true`)."""
        digest = idempotency.request_hash("POST", f"/api/v1/merchants/{merchant_id}/payment-checkins", data)
        result, replayed = await CheckinService(db_session).record_once(
            by=request.user,
            merchant_id=merchant_id,
            data=data,
            key=idempotency_key,
            request_hash=digest,
            at=utcnow(),
        )
        return replay_response(result, replayed=replayed)  # type: ignore[return-value]

    @get("/", name="api.payment_checkins.list", responses={404: _NOT_VISIBLE})
    async def list_checkins(
        self, request: Request, db_session: NamedDependency[AsyncSession], merchant_id: FromPath[uuid.UUID]
    ) -> list[PaymentCheckinOut]:
        """The trader's answers, the trader's own and the team's, newest week first."""
        return await CheckinService(db_session).of_merchant(by=request.user, merchant_id=merchant_id)
