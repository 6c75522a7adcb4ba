"""Retry-safe writes: a request that carries an idempotency key gets the first result again.

A record (user, key) holds the hash of the request and the response it produced. It is written in
the same transaction as the change it guards, so either both exist or neither does. Two requests
racing with one key meet at the unique constraint: the loser's transaction is rolled back and it
replays the winner's response (see `Replay`).

Only successful results are stored: a refused request changed nothing, so its key stays free.
Records hold response bodies with personal data; `purge()` drops them after `MAX_AGE`.
"""

import hashlib
import uuid
from datetime import datetime, timedelta

import msgspec
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base
from service.errors import DomainError
from service.i18n import N_

MAX_AGE = timedelta(days=7)
MAX_KEY_LENGTH = 200


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_idempotency_records_user_key"),
        Index("ix_idempotency_records_created_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(GUID, primary_key=True, default=uuid.uuid4)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    user_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("users.id", ondelete="CASCADE"))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class KeyReused(DomainError):
    """The key was used before for a different request."""

    status_code = 422


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
) -> None:
    """Add the record and flush, so a concurrent duplicate fails here (IntegrityError), inside the
    caller's transaction, before anything is committed."""
    session.add(
        IdempotencyRecord(
            key=key,
            user_id=user_id,
            request_hash=request_hash,
            status_code=status_code,
            response_body=body,
            created_at=at,
        )
    )
    await session.flush()


async def purge(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - MAX_AGE)
    )
    return result.rowcount or 0
