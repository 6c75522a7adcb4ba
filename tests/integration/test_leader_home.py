"""A team leader's home page starts from what waits for them: claims to review and visits past
their promised day, each a count that opens its list; a claim says how long it has waited."""

from datetime import timedelta

import pytest

from service.onboarding.stages import local_date
from tests.helpers import api_token, browser_login
from tests.integration.test_onboarding import LEADER, VOLUNTEER, claim, register, visit


@pytest.fixture
async def client(pinned_client):
    """Requests handled at 00:02 in Vietnam on the first of a month (the `clock` fixture)."""
    return pinned_client


def section(html: str, marker: str) -> str:
    return html.split(marker)[1].split("</section>")[0]


async def test_leader_home_counts_claims_and_overdue_visits_with_links(client, clock) -> None:
    volunteer = await api_token(client, VOLUNTEER)
    t = clock()
    first = await register(client, volunteer, registered_at=t - timedelta(days=10))
    second = await register(client, volunteer, registered_at=t - timedelta(days=10))
    await claim(client, volunteer, first, "identity", t - timedelta(days=4))
    await claim(client, volunteer, second, "identity", t - timedelta(minutes=1))  # today, just
    overdue = visit(t - timedelta(days=6), next_follow_up=(local_date(t) - timedelta(days=2)).isoformat())
    response = await client.post(f"/api/v1/merchants/{first}/visits", json=overdue, headers=volunteer)
    assert response.status_code == 201, response.text

    leader = await api_token(client, LEADER)
    team_id = (await client.get("/api/v1/me", headers=leader)).json()["team"]["id"]
    await browser_login(client, LEADER)
    home = (await client.get("/")).text
    waiting = section(home, 'id="waiting"')
    assert (
        f'href="/teams/{team_id}/progress#claims" id="claims-waiting"><strong class="big">2</strong>'
        in waiting
    )
    assert "khai báo chờ xác minh" in waiting and "lâu nhất 4 ngày" in waiting
    assert 'href="/worklist?team=1#follow_up" id="overdue-visits"><strong class="big">1</strong>' in waiting

    # Each count opens its list, where the same items are.
    progress = (await client.get(f"/teams/{team_id}/progress")).text
    claims = section(progress, 'id="claims"')
    assert claims.count('class="card claim"') == 2
    assert "chờ 4 ngày" in claims and "gửi hôm nay" in claims
    worklist = section((await client.get("/worklist?team=1")).text, 'id="follow_up"')
    assert f'href="/merchants/{first}/timeline"' in worklist

    english = section((await client.get("/?lang=en")).text, 'id="waiting"')
    assert "claims waiting for review" in english and "oldest 4 days" in english
    assert "follow-up visits due" in english
