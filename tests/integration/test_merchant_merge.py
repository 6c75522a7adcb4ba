"""Merging duplicate merchants: generic re-pointing of every row that references a merchant, one-row-
per-merchant tables, redirects from the old id, audit, roles."""

import json
import subprocess
import sys
import uuid

import pytest
from advanced_alchemy.types import GUID
from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    select,
    text,
)

from service.db import create_engine, metadata
from service.merchants.relations import SELF_REFERENCE, references
from tests.helpers import api_token, browser_login, csrf_from

VOLUNTEER = "tnv-2-1"  # Tổ công nghệ số Gia Hội (19753)
LEADER = "totruong-2"


class Rows:
    def __init__(self, engine, tables):
        self.engine = engine
        self.tables = tables

    async def insert(self, name: str, **values) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(self.tables[name].insert().values(**values))

    async def owners(self, name: str) -> dict:
        table = self.tables[name]
        async with self.engine.connect() as conn:
            return {key: owner for key, owner in await conn.execute(select(table.c.id, table.c.merchant_id))}


@pytest.fixture
async def extra_tables(settings):
    """Tables another area could add later, each with a foreign key to merchants.id: a log with one
    client id per merchant, a one-per-merchant storefront, accounts with one *live primary* per merchant
    (a partial unique index). They exist only for the test: merge and export must find them alone."""
    import service.models  # noqa: F401

    live_primary = text("is_primary AND NOT removed")
    tables = [
        Table(
            "test_visits",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("merchant_id", GUID, ForeignKey("merchants.id"), nullable=False),
            Column("client_event_id", String(40)),
            UniqueConstraint("merchant_id", "client_event_id"),
        ),
        Table(
            "test_storefronts",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("merchant_id", GUID, ForeignKey("merchants.id"), unique=True),
            Column("slug", String(40)),
        ),
        Table(
            "test_accounts",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("merchant_id", GUID, ForeignKey("merchants.id"), nullable=False),
            Column("holder", String(40)),
            Column("is_primary", Boolean, nullable=False),
            Column("removed", Boolean, nullable=False),
            Index(
                "uq_test_accounts_primary",
                "merchant_id",
                unique=True,
                sqlite_where=live_primary,
                postgresql_where=live_primary,
            ),
        ),
    ]
    engine = create_engine(settings)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: metadata.create_all(sync, tables=tables))
        yield Rows(engine, {t.name: t for t in tables})
    finally:
        for table in tables:
            metadata.remove(table)
        await engine.dispose()


def body(**overrides) -> dict:
    return {
        "kind": "market_stall",
        "business_name": "Bún bò Huế Mệ Kéo",
        "category": "food_drink",
        "owner_name": "Trần Thị Kéo",
        "owner_phone": "0912 345 678",
        "commune_code": "19753",
        "consent_purposes": ["contact"],
        **overrides,
    }


async def pair(client) -> tuple[dict, dict]:
    """The same trader registered twice (another phone; the volunteer confirmed 'not a duplicate')."""
    headers = await api_token(client, VOLUNTEER)
    first = (await client.post("/api/v1/merchants", json=body(), headers=headers)).json()
    second = await client.post(
        "/api/v1/merchants",
        json=body(owner_phone="0987 654 321", stall="B-2", not_duplicate_of=[first["id"]]),
        headers=headers,
    )
    assert second.status_code == 201, second.text
    return first, second.json()


def _tests_only(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if k.startswith("test_")}


async def test_merge_moves_every_referencing_row_and_keeps_one_per_merchant_rows(
    client, extra_tables
) -> None:
    survivor, duplicate = await pair(client)
    a, b = uuid.UUID(survivor["id"]), uuid.UUID(duplicate["id"])
    await extra_tables.insert("test_visits", id=1, merchant_id=a, client_event_id="v1")
    await extra_tables.insert("test_visits", id=2, merchant_id=b, client_event_id="v1")  # same client id
    await extra_tables.insert("test_visits", id=3, merchant_id=b, client_event_id="v2")
    await extra_tables.insert("test_storefronts", id=1, merchant_id=a, slug="a")
    await extra_tables.insert("test_storefronts", id=2, merchant_id=b, slug="b")
    await extra_tables.insert(
        "test_accounts", id=1, merchant_id=a, holder="A", is_primary=True, removed=False
    )
    await extra_tables.insert(
        "test_accounts", id=2, merchant_id=b, holder="B1", is_primary=True, removed=False
    )
    await extra_tables.insert(
        "test_accounts", id=3, merchant_id=b, holder="B2", is_primary=False, removed=False
    )
    await extra_tables.insert(
        "test_accounts", id=4, merchant_id=b, holder="B3", is_primary=True, removed=True
    )

    leader = await api_token(client, LEADER)
    response = await client.post(
        f"/api/v1/merchants/{a}/merge", json={"duplicate_id": str(b), "version": 1}, headers=leader
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["merged_id"] == str(b)
    assert result["survivor"]["version"] == 2 and result["survivor"]["owner_phone"] == "+84912345678"
    assert _tests_only(result["moved"]) == {"test_visits.merchant_id": 1, "test_accounts.merchant_id": 2}
    assert _tests_only(result["left_behind"]) == {
        "test_visits.merchant_id": 1,
        "test_storefronts.merchant_id": 1,
        "test_accounts.merchant_id": 1,
    }
    assert await extra_tables.owners("test_visits") == {1: a, 2: b, 3: a}
    assert await extra_tables.owners("test_storefronts") == {1: a, 2: b}
    assert await extra_tables.owners("test_accounts") == {1: a, 2: b, 3: a, 4: a}


async def test_the_old_id_redirects_to_the_survivor(client) -> None:
    survivor, duplicate = await pair(client)
    leader = await api_token(client, LEADER)
    merged = await client.post(
        f"/api/v1/merchants/{survivor['id']}/merge", json={"duplicate_id": duplicate["id"]}, headers=leader
    )
    assert merged.status_code == 200
    old = f"/api/v1/merchants/{duplicate['id']}"
    moved = await client.get(old, headers=leader, follow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["location"] == f"/api/v1/merchants/{survivor['id']}"
    assert moved.json()["merged_into_id"] == survivor["id"]
    followed = await client.get(old, headers=leader)
    assert followed.status_code == 200 and followed.json()["id"] == survivor["id"]
    audit = await client.get(f"{old}/audit", headers=leader, follow_redirects=False)
    assert audit.headers["location"] == f"/api/v1/merchants/{survivor['id']}/audit"
    write = await client.patch(old, json={"version": 1, "stall": "X"}, headers=leader)
    assert write.status_code == 409 and write.json()["merged_into_id"] == survivor["id"]
    await browser_login(client, LEADER)
    page = await client.get(f"/merchants/{duplicate['id']}", follow_redirects=False)
    assert page.status_code == 301 and page.headers["location"] == f"/merchants/{survivor['id']}"
    edit = await client.get(f"/merchants/{duplicate['id']}/edit", follow_redirects=False)
    assert edit.headers["location"] == f"/merchants/{survivor['id']}/edit"
    # Outside the jurisdiction the old id is simply unknown.
    other = await api_token(client, "demo-volunteer-b")
    assert (await client.get(old, headers=other, follow_redirects=False)).status_code == 404


async def test_a_merged_record_leaves_lists_search_and_duplicate_checks(client) -> None:
    survivor, duplicate = await pair(client)
    leader = await api_token(client, LEADER)
    await client.post(
        f"/api/v1/merchants/{survivor['id']}/merge", json={"duplicate_id": duplicate["id"]}, headers=leader
    )
    listed = (await client.get("/api/v1/merchants", headers=leader)).json()
    assert [m["id"] for m in listed["items"]] == [survivor["id"]] and listed["total"] == 1
    searched = await client.get("/api/v1/merchants", params={"q": "0987654321"}, headers=leader)
    assert searched.json()["total"] == 0
    again = await client.post(
        "/api/v1/merchants",
        json=body(owner_phone="0987 654 321", business_name="Cơm hến Mụ Tôn"),
        headers=leader,
    )
    assert again.status_code == 201, again.text  # the tombstone is nobody's duplicate
    twin = await client.post("/api/v1/merchants", json=body(owner_phone="0911 000 111"), headers=leader)
    assert twin.status_code == 409
    assert [d["id"] for d in twin.json()["duplicates"]] == [survivor["id"]]


async def test_merge_is_audited_on_both_and_history_follows_the_survivor(client) -> None:
    survivor, duplicate = await pair(client)
    leader = await api_token(client, LEADER)
    await client.post(
        f"/api/v1/merchants/{survivor['id']}/merge", json={"duplicate_id": duplicate["id"]}, headers=leader
    )
    entries = (await client.get(f"/api/v1/merchants/{survivor['id']}/audit", headers=leader)).json()
    actions = [e["action"] for e in entries]
    assert actions[0] == "merge" and actions.count("merge") == 2 and actions.count("create") == 2
    merge = next(e for e in entries if "merged_from" in e["changes"])
    assert merge["changes"]["merged_from"] == [None, duplicate["id"]]
    assert any(e["changes"].get("merged_into_id") == [None, survivor["id"]] for e in entries)
    assert any(e["changes"].get("stall") == [None, "B-2"] for e in entries)  # the duplicate's own history
    await browser_login(client, LEADER)
    page = await client.get(f"/merchants/{survivor['id']}")
    assert "Gộp bản ghi" in page.text and "Gộp từ bản ghi" in page.text


async def test_merge_moves_stage_events_and_visits_and_recomputes_the_stage(client) -> None:
    survivor, duplicate = await pair(client)
    leader = await api_token(client, LEADER)
    response = await client.post(
        f"/api/v1/merchants/{survivor['id']}/merge", json={"duplicate_id": duplicate["id"]}, headers=leader
    )
    result = response.json()
    assert result["moved"].get("stage_events.merchant_id") == 1  # the duplicate's "registered" event
    assert result["left_behind"].get("merchant_stages.merchant_id") == 1  # the survivor holds "registered"
    assert result["survivor"]["current_stage"] == "registered"


async def test_only_leaders_of_the_team_and_officers_above_may_merge(client) -> None:
    survivor, duplicate = await pair(client)
    url = f"/api/v1/merchants/{survivor['id']}/merge"
    data = {"duplicate_id": duplicate["id"]}
    volunteer = await client.post(url, json=data, headers=await api_token(client, VOLUNTEER))
    assert volunteer.status_code == 403
    other_leader = await client.post(url, json=data, headers=await api_token(client, "demo-leader"))
    assert other_leader.status_code == 404
    other_commune = await client.post(url, json=data, headers=await api_token(client, "canbo-kimlong"))
    assert other_commune.status_code == 404
    itself = await client.post(
        url, json={"duplicate_id": survivor["id"]}, headers=await api_token(client, LEADER)
    )
    assert itself.status_code == 422
    stale = await client.post(url, json={**data, "version": 7}, headers=await api_token(client, LEADER))
    assert stale.status_code == 409 and stale.json()["current"]["version"] == 1
    officer = await client.post(url, json=data, headers=await api_token(client, "demo-commune"))
    assert officer.status_code == 200


async def test_a_leader_merges_from_the_page(client) -> None:
    survivor, duplicate = await pair(client)
    await browser_login(client, LEADER)
    detail = await client.get(f"/merchants/{survivor['id']}")
    assert f'href="/merchants/{survivor["id"]}/merge"' in detail.text
    page = await client.get(f"/merchants/{survivor['id']}/merge")
    assert page.status_code == 200
    assert f'name="duplicate_id" value="{duplicate["id"]}"' in page.text  # found by the form's own rule
    nothing = await client.post(
        f"/merchants/{survivor['id']}/merge", data={"_csrf_token": csrf_from(page.text), "version": "1"}
    )
    assert nothing.status_code == 422
    done = await client.post(
        f"/merchants/{survivor['id']}/merge",
        data={"_csrf_token": csrf_from(page.text), "version": "1", "duplicate_id": duplicate["id"]},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/merchants/{survivor['id']}"
    shown = await client.get(done.headers["location"])
    assert "Đã gộp Bún bò Huế Mệ Kéo vào bản ghi này." in shown.text
    await browser_login(client, VOLUNTEER)
    assert (await client.get(f"/merchants/{survivor['id']}/merge")).status_code == 403
    assert 'id="merge-link"' not in (await client.get(f"/merchants/{survivor['id']}")).text


async def test_chains_of_merges_redirect_in_one_hop(client) -> None:
    first, second = await pair(client)
    headers = await api_token(client, LEADER)
    third = (
        await client.post(
            "/api/v1/merchants",
            json=body(owner_phone="0911 222 333", not_duplicate_of=[first["id"], second["id"]]),
            headers=headers,
        )
    ).json()
    await client.post(
        f"/api/v1/merchants/{first['id']}/merge", json={"duplicate_id": second["id"]}, headers=headers
    )
    await client.post(
        f"/api/v1/merchants/{third['id']}/merge", json={"duplicate_id": first["id"]}, headers=headers
    )
    for old in (first, second):
        moved = await client.get(f"/api/v1/merchants/{old['id']}", headers=headers, follow_redirects=False)
        assert moved.headers["location"] == f"/api/v1/merchants/{third['id']}", old
    entries = (await client.get(f"/api/v1/merchants/{third['id']}/audit", headers=headers)).json()
    assert [e["action"] for e in entries].count("create") == 3


def test_every_foreign_key_to_merchants_is_covered_by_the_merge() -> None:
    """Whatever table points at merchants.id, the merge re-points it (only the tombstone's own pointer
    is left out); and `service.models` imports every model module, so no table escapes."""
    import importlib
    import pkgutil

    import service

    for module in pkgutil.walk_packages(service.__path__, "service."):
        if not module.name.startswith("service.migrations"):
            importlib.import_module(module.name)
    foreign_keys = {
        (table.name, fk.parent.name)
        for table in metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name == "merchants"
        and fk.column.name == "id"
        and not table.name.startswith("test_")
    }
    covered = {
        (ref.table.name, ref.column.name) for ref in references() if not ref.table.name.startswith("test_")
    }
    assert SELF_REFERENCE in foreign_keys
    assert covered == foreign_keys - {SELF_REFERENCE}
    script = (
        "import json, service.merchants.relations as r;"
        "print(json.dumps(sorted([ref.table.name, ref.column.name] for ref in r.references())))"
    )
    alone = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert {tuple(pair) for pair in json.loads(alone.stdout)} == covered


def test_unique_constraints_over_the_merchant_column_are_found() -> None:
    local = MetaData()
    Table("merchants", local, Column("id", GUID, primary_key=True))
    Table(
        "shops",
        local,
        Column("id", Integer, primary_key=True),
        Column("merchant_id", GUID, ForeignKey("merchants.id"), unique=True),
    )
    Table(
        "events",
        local,
        Column("merchant_id", GUID, ForeignKey("merchants.id"), primary_key=True),
        Column("stage", String(20), primary_key=True),
    )
    Table(
        "notes",
        local,
        Column("id", Integer, primary_key=True),
        Column("merchant_id", GUID, ForeignKey("merchants.id")),
    )
    found = {ref.name: ref for ref in references(local)}
    assert set(found) == {"shops.merchant_id", "events.merchant_id", "notes.merchant_id"}
    assert [(others, where) for others, where in found["shops.merchant_id"].unique_with] == [((), None)]
    [(others, where)] = found["events.merchant_id"].unique_with
    assert [c.name for c in others] == ["stage"] and where is None
    assert found["notes.merchant_id"].unique_with == ()


def demo_merchant(position: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"onboard-demo-merchant-{position}")


async def test_merging_demo_traders_moves_payment_accounts_and_the_stage_log(client) -> None:
    """Bánh lọc Bà Tư (no account yet) survives; Bún hến O Nga's Agribank account, posters, visits and
    stage events move to it, and its current stage is recomputed from the log it now holds."""
    survivor, duplicate = demo_merchant(3), demo_merchant(0)
    leader = await api_token(client, "demo-leader")
    before = await client.get(f"/api/v1/merchants/{duplicate}", headers=leader)
    stage_before = before.json()["current_stage"]
    response = await client.post(
        f"/api/v1/merchants/{survivor}/merge", json={"duplicate_id": str(duplicate)}, headers=leader
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["moved"]["payment_accounts.merchant_id"] == 1
    assert result["moved"]["stage_events.merchant_id"] >= 2 and result["moved"]["visits.merchant_id"] >= 1
    assert result["survivor"]["current_stage"] == stage_before != "registered"
    accounts = await client.get(f"/api/v1/merchants/{survivor}/payment-accounts", headers=leader)
    assert accounts.status_code == 200, accounts.text
    assert [a["bank_bin"] for a in accounts.json()] == ["970405"]  # Agribank
