"""Retry-safe writes: a request that carries an idempotency key gets the first result again.

A record (user, key) holds the hash of the request and the response it produced. It is written in
the same transaction as the change it guards, so either both exist or neither does. Two requests
racing with one key meet at the unique constraint: the loser's transaction is rolled back and it
replays the winner's response (see `Replay`).

Only successful results are stored: a refused request changed nothing, so its key stays free.
Records hold response bodies with personal data; `purge()` drops them after `MAX_AGE`.

A record names the trader its request concerned (`merchant_id`). When that trader's personal data
is erased, `forget()` empties every such record, whatever its age, and leaves a tombstone of the
key: no body, no request hash, status `GONE`. A retry with that key is then refused with 410
(`Gone`) instead of running again, so a tablet's late retry cannot register the erased person a
second time. Tombstones hold nothing personal (a key the client chose, the user, a record id) and
are kept: they are what makes the refusal last.
"""

import hashlib
import uuid
from datetime import datetime, timedelta

import msgspec
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base
from service.errors import DomainError
from service.i18n import N_

MAX_AGE = timedelta(days=7)
MAX_KEY_LENGTH = 200
GONE = 410  # the status of a tombstone; only successful results are stored otherwise


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_idempotency_records_user_key"),
        Index("ix_idempotency_records_created_at", "created_at"),
        Index("ix_idempotency_records_merchant_id", "merchant_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    user_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("users.id", ondelete="CASCADE"))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    # The trader the request concerned (no foreign key: the record outlives merges and deletions).
    merchant_id: Mapped[uuid.UUID | None] = mapped_column(GUID, nullable=True)


class KeyReused(DomainError):
    """The key was used before for a different request."""

    status_code = 422


class Gone(DomainError):
    """The key's request concerned a trader whose personal data has since been erased."""

    status_code = GONE

    def __init__(self) -> None:
        super().__init__(
            N_(
                "Yêu cầu này thuộc về một tiểu thương đã được xóa dữ liệu cá nhân nên không thể gửi lại. "
                "Nếu họ muốn đăng ký lại, hãy đăng ký mới với sự đồng ý của họ."
            )
        )


class Replay(msgspec.Struct, frozen=True):
    status_code: int
    body: bytes


def request_hash(method: str, path: str, payload: object) -> str:
    """A stable hash of what was asked: method, path and the decoded body with sorted keys."""
    canonical = msgspec.json.encode([method.upper(), path, msgspec.to_builtins(payload)], order="sorted")
    return hashlib.sha256(canonical).hexdigest()


async def find(session: AsyncSession, *, user_id: uuid.UUID, key: str, request_hash: str) -> Replay | None:
    """The stored result for this key, or None; a key used for another request raises KeyReused."""
    row = await session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
    )
    if row is None:
        return None
    if row.status_code == GONE:
        raise Gone()
    if row.request_hash != request_hash:
        raise KeyReused(
            N_("Khóa Idempotency-Key này đã được dùng cho một yêu cầu khác."), field="Idempotency-Key"
        )
    return Replay(status_code=row.status_code, body=row.response_body)


async def store(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    key: str,
    request_hash: str,
    status_code: int,
    body: bytes,
    at: datetime,
    merchant_id: uuid.UUID | None = None,
) -> None:
    """Add the record and flush, so a concurrent duplicate fails here (IntegrityError), inside the
    caller's transaction, before anything is committed. `merchant_id`: the trader the request
    concerned, so that erasing them finds the record."""
    session.add(
        IdempotencyRecord(
            key=key,
            user_id=user_id,
            request_hash=request_hash,
            status_code=status_code,
            response_body=body,
            created_at=at,
            merchant_id=merchant_id,
        )
    )
    await session.flush()


async def forget(session: AsyncSession, *, merchant_ids: list[uuid.UUID]) -> int:
    """Turn every record about these traders into a tombstone, whatever its age; returns how many.

    Records written before they named their trader (merchant_id empty) are found by the trader's
    id in the key or in the stored response."""
    if not merchant_ids:
        return 0
    keys = [f"merchant:{i}" for i in merchant_ids]
    needles = [str(i).encode() for i in merchant_ids]
    unnamed = await session.execute(
        select(IdempotencyRecord.id, IdempotencyRecord.key, IdempotencyRecord.response_body).where(
            IdempotencyRecord.merchant_id.is_(None), IdempotencyRecord.status_code != GONE
        )
    )
    found = [rid for rid, key, body in unnamed if key in keys or any(n in body for n in needles)]
    condition = IdempotencyRecord.merchant_id.in_(merchant_ids)
    if found:
        condition = or_(condition, IdempotencyRecord.id.in_(found))
    result = await session.execute(
        update(IdempotencyRecord)
        .where(condition, IdempotencyRecord.status_code != GONE)
        .values(status_code=GONE, request_hash="", response_body=b"")
    )
    return result.rowcount or 0


async def purge(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.created_at < now - MAX_AGE, IdempotencyRecord.status_code != GONE
        )
    )
    return result.rowcount or 0
