"""Amounts are rounded to the cent, half away from zero, before they are written (as
PostgreSQL rounds into numeric(16,2)), or refused: a mutation answers exactly what a
later read returns, on either database."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from models import Opportunity, Order
from schema.input_limits import SCALAR_LIMITS
from tests.card_helpers import SALES
from tests.factories import gid, make_campaign, make_customer, make_user
from tests.test_activities import create_order, records
from tests.test_activities import sales_team as card_team
from tests.test_opportunity_changes import seller_with_card, update
from tests.test_opportunity_create import create
from tests.test_outcomes import mark_won
from tests.test_outcomes import sales_team as won_team

MAX_CENTS = 99_999_999_999_999_99
OPPORTUNITY_AMOUNT = "query($id: ID!) { opportunity(id: $id) { amount } }"


def expected_amount(text: str) -> str | None:
    """The oracle: the amount as stored, by exact arithmetic, or None when refused."""
    if too_long(text):
        return None
    value = Decimal(text)
    if not value.is_finite():
        return None
    hundredths = Fraction(value) * 100
    cents = math.floor(abs(hundredths) + Fraction(1, 2))
    if hundredths < 0 and cents:
        return None
    if cents > MAX_CENTS:
        return None
    return f"{cents // 100}.{cents % 100:02d}"


def too_long(text: str) -> bool:
    return len(text) > SCALAR_LIMITS["Decimal"]


def refused_field(text: str, name: str) -> str:
    """The input check names the argument path; the amount's own check, the field."""
    return f"input.{name}" if too_long(text) else name


def _scientific(sign: str, digits: str, exponent: int) -> str:
    return f"{sign}{digits}E{exponent}"


def _thousandths(thousandths: int) -> str:
    return str(Decimal(thousandths).scaleb(-3))


AMOUNTS = st.one_of(
    st.builds(
        _scientific,
        st.sampled_from(["", "-", "+"]),
        st.text("0123456789", min_size=1, max_size=30),
        st.integers(-40, 20) | st.integers(-1100, 1100),
    ),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    # Ties and near-ties, around zero and around the largest amount.
    st.integers(-20, 30).map(_thousandths),
    st.integers(MAX_CENTS * 10 - 30, MAX_CENTS * 10 + 30).map(_thousandths),
)
EDGES = [
    "12.345",
    "1e-1000",
    "-0",
    "-0.004",
    "-0.005",
    "0.005",
    "0.0049999999999999999999999999999999",
    "99999999999999.99",
    "99999999999999.994",
    "99999999999999.995",
    "1e999999",
    "-1e999999",
    "NaN",
    "sNaN",
    "-Infinity",
    "0." + "0" * 49 + "5",
]


async def read_amount(api, viewer, card_id: str) -> str | None:
    result = await api.execute(OPPORTUNITY_AMOUNT, {"id": card_id}, viewer=viewer)
    return result.ok()["opportunity"]["amount"]


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=AMOUNTS)
@example(text="12.345")
@example(text="1e-1000")
@example(text="-0")
@example(text="0.005")
@example(text="99999999999999.995")
@example(text="1e999999")
async def test_update_opportunity_answers_the_amount_a_later_read_returns(api, text):
    # given
    seller, _campaign, card = await seller_with_card(amount=Decimal("7.00"))
    expected = expected_amount(text)
    # when
    result = await update(api, seller, card, amount=text)
    # then
    stored = await read_amount(api, seller, gid("Opportunity", card))
    if expected is None:
        assert result.codes == ["BAD_USER_INPUT"], result.errors
        assert result.errors[0]["extensions"]["field"] == refused_field(text, "amount")
        assert stored == "7.00"
    else:
        assert result.ok()["updateOpportunity"]["amount"] == stored == expected


@pytest.mark.parametrize("text", EDGES)
async def test_create_opportunity_answers_the_amount_a_later_read_returns(api, text):
    # given
    manager = await make_user(*SALES)
    campaign = await make_campaign(manager)
    customer = await make_customer()
    # when
    result = await create(api, manager, campaign, customer, amount=text)
    # then
    expected = expected_amount(text)
    if expected is None:
        assert result.codes == ["BAD_USER_INPUT"], result.errors
        assert result.errors[0]["extensions"]["field"] == refused_field(text, "amount")
        assert await Opportunity.all().count() == 0
    else:
        created = result.ok()["createOpportunity"]
        assert created["amount"] == await read_amount(api, manager, created["id"]) == expected


@pytest.mark.parametrize("text", EDGES)
async def test_create_order_answers_the_amount_a_later_read_returns(api, text):
    # given
    owner, _colleague, _campaign, card = await card_team()
    # when
    result = await create_order(api, owner, card, amount=text)
    # then
    expected = expected_amount(text)
    if expected is None:
        assert result.codes == ["BAD_USER_INPUT"], result.errors
        assert result.errors[0]["extensions"]["field"] == refused_field(text, "amount")
        assert await Order.all().count() == 0
    else:
        stored = (await records(api, owner, card))["orders"]
        assert [result.ok()["createOrder"]["amount"]] == [o["amount"] for o in stored]
        assert stored[0]["amount"] == expected


@pytest.mark.parametrize("text", EDGES)
async def test_mark_won_answers_the_order_amount_a_later_read_returns(api, text):
    # given
    _manager, seller, _campaign, card = await won_team()
    # when
    result = await mark_won(api, seller, card, amount=text)
    # then
    expected = expected_amount(text)
    if expected is None:
        assert result.codes == ["BAD_USER_INPUT"], result.errors
        assert result.errors[0]["extensions"]["field"] == refused_field(text, "orderAmount")
        assert await Order.all().count() == 0
    else:
        answered = result.ok()["markOpportunityWon"]["orders"]
        stored = (await records(api, seller, card))["orders"]
        assert [o["amount"] for o in answered] == [o["amount"] for o in stored] == [expected]
