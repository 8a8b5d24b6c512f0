"""The browser client at /app/, in real Chromium (Debian's, driven by Playwright): two
users on two server processes sharing PostgreSQL and Redis see each other's moves and
messages live; a refused move snaps back; a page rides out its server's restart; a
campaign out of reach is cleanly not found. Screenshots go to the test's tmp_path."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, async_playwright, expect

from models import CampaignEvent, Permission
from tests.conftest import TEST_SECRET
from tests.factories import (
    PASSWORD,
    gid,
    make_campaign,
    make_customer,
    make_opportunity,
    make_user,
    stages_of,
)
from tests.live import free_port, post, redis_server, server_process, serving
from tests.test_live import ASSIGN, move, token_for

pytestmark = pytest.mark.postgres_only

CHROMIUM = "/usr/bin/chromium"  # Debian's (scripts/services installs it)
SALES = (Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_CREATE, Permission.OPPORTUNITY_EDIT)
POST_CHAT = "mutation($input: PostChatMessageInput!) { postChatMessage(input: $input) { id } }"
LIVE_WITHIN = 1_000  # ms: what "live" means here


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield browser
        finally:
            await browser.close()


async def signed_in(browser: Browser, base: str, user: Any, errors: list[str]) -> Page:
    """A page of its own (a context: its own tab storage) where `user` signed in."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{base}/app/")
    login = page.locator("form[data-testid=login]")
    await login.locator("input[name=email]").fill(user.email)
    await login.locator("input[name=password]").fill(PASSWORD)
    await login.locator("button[type=submit]").click()
    await expect(page.locator("[data-testid=connection]")).to_be_visible()
    return page


async def open_board(page: Page, campaign: Any) -> None:
    await page.locator(
        f"[data-testid=campaign-link][data-campaign-id='{gid('Campaign', campaign)}']"
    ).click()
    await expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    await expect(page.locator("[data-testid=card]").first).to_be_visible()


def stage(page: Page, row: Any) -> Any:
    return page.locator(f"[data-testid=stage][data-stage-id='{gid('Stage', row)}']")


def card(page: Page, row: Any) -> Any:
    return page.locator(f"[data-testid=card][data-opportunity-id='{gid('Opportunity', row)}']")


async def cards_in(page: Page, column: Any) -> list[str]:
    found = stage(page, column).locator("[data-testid=card]")
    return [
        str(await element.get_attribute("data-opportunity-id")) for element in await found.all()
    ]


async def expect_column(page: Page, column: Any, cards: list[Any], count: int, total: str) -> None:
    """The column holds exactly `cards`, in order, and shows `count` and `total`."""
    wanted = [gid("Opportunity", row) for row in cards]
    located = stage(page, column).locator("[data-testid=card]")
    await expect(located).to_have_count(len(wanted), timeout=LIVE_WITHIN)
    for index, global_id in enumerate(wanted):
        await expect(located.nth(index)).to_have_attribute(
            "data-opportunity-id", global_id, timeout=LIVE_WITHIN
        )
    await expect(stage(page, column).locator("[data-testid=stage-count]")).to_have_text(
        str(count), timeout=LIVE_WITHIN
    )
    await expect(stage(page, column).locator("[data-testid=stage-total]")).to_have_text(
        total, timeout=LIVE_WITHIN
    )


async def left_behind(
    browser: Browser,
    cwd: Path,
    port: int,
    settings: dict[str, str],
    user: Any,
    campaign: Any,
    errors: list[str],
) -> Page:
    """`user`'s page live on the board, on a process on `port` that then went away: the
    page says it is reconnecting."""
    with server_process(cwd, port=port, **settings) as (base, _process):
        page = await signed_in(browser, base, user, errors)
        await open_board(page, campaign)
    connection = page.locator("[data-testid=connection]")
    await expect(connection).to_have_attribute("data-state", "reconnecting")
    return page


async def keyboard_move(page: Page, row: Any, to: Any, after: Any | None = None) -> None:
    await card(page, row).focus()
    controls = card(page, row)
    await controls.locator("select[data-testid=move-to]").select_option(gid("Stage", to))
    place = gid("Opportunity", after) if after is not None else ""
    await controls.locator("select[data-testid=move-position]").select_option(place)
    await controls.locator("button[data-testid=move-confirm]").click()


async def team() -> tuple[Any, Any, Any, list[Any], list[Any]]:
    """Mai manages a campaign (New, Contacted, Won) An takes part in; three cards in New
    worth 1,000, 2,000 and 4,000, the first Mai's, the others An's."""
    mai = await make_user(*SALES, name="Mai")
    an = await make_user(*SALES, name="An")
    campaign = await make_campaign(mai, participants=[an], stages=("New", "Contacted", "Won"))
    stages = await stages_of(campaign)
    cards = [
        await make_opportunity(
            campaign,
            await make_customer(owner=mai, name=name),
            owner=mai if name == "Hanoi Coffee" else an,
            amount=Decimal(amount),
            probability=10,
        )
        for name, amount in (
            ("Hanoi Coffee", "1000"),
            ("Halong Travel", "2000"),
            ("Hue Silk", "4000"),
        )
    ]
    return mai, an, campaign, stages, cards


def environment(database_url: str, redis_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET, "REDIS_URL": redis_url}


async def test_two_users_on_two_processes_see_each_others_moves_and_messages_live(
    app, database_url, tmp_path: Path
):
    mai, an, campaign, stages, cards = await team()
    new, contacted, won = stages
    first, second, third = cards
    errors: list[str] = []
    with (
        redis_server() as redis,
        serving(tmp_path, **environment(database_url, redis.url)) as base_a,
        serving(tmp_path, **environment(database_url, redis.url)) as base_b,
    ):
        async with chromium() as browser:
            mais = await signed_in(browser, base_a, mai, errors)
            ans = await signed_in(browser, base_b, an, errors)
            await open_board(mais, campaign)
            await open_board(ans, campaign)
            await expect_column(ans, new, [first, second, third], 3, "7,000")

            # a drag in Mai's page moves the card in An's, figures included, in both
            await card(mais, first).drag_to(stage(mais, contacted).locator("ol"))
            for page in (ans, mais):
                await expect_column(page, contacted, [first], 1, "1,000")
                await expect_column(page, new, [second, third], 2, "6,000")
            # told to An's screen reader; Mai's page tells nobody her own move
            announcer = "[aria-live=polite].visually-hidden"
            await expect(ans.locator(announcer)).to_have_text("Mai moved Hanoi Coffee")
            await expect(mais.locator(announcer)).to_have_text("")

            # a keyboard move in An's page: to another column, then within one
            await keyboard_move(ans, second, won)
            await keyboard_move(ans, third, contacted, after=first)
            for page in (mais, ans):
                await expect_column(page, won, [second], 1, "2,000")
                await expect_column(page, contacted, [first, third], 2, "5,000")
                await expect_column(page, new, [], 0, "0")
            await keyboard_move(mais, third, contacted)  # to the top of its own column
            await expect_column(ans, contacted, [third, first], 2, "5,000")
            # a drag within a column, onto the top half of its first card: first again
            top_card = card(mais, third)
            await card(mais, first).drag_to(top_card, target_position={"x": 20, "y": 3})
            await expect_column(ans, contacted, [first, third], 2, "5,000")

            # a message typed in An's chat appears in Mai's
            await ans.locator("[data-testid=chat-input]").fill("Hue Silk wants a call back")
            await ans.locator("[data-testid=chat-input]").press("Enter")
            for page in (mais, ans):
                await expect(page.locator("[data-testid=chat-message]").last).to_contain_text(
                    "Hue Silk wants a call back", timeout=LIVE_WITHIN
                )
            await expect(ans.locator("[data-testid=chat-input]")).to_have_value("")

            # a card Mai hands An through the API reaches An's notification badge
            assigned = await post(
                base_a,
                ASSIGN,
                {"input": {"id": gid("Opportunity", first), "ownerId": gid("User", an)}},
                token_for(mai),
            )
            assert not assigned.get("errors"), assigned
            await expect(ans.locator("[data-testid=notification-count]")).to_have_text(
                "1", timeout=LIVE_WITHIN
            )

            for width in (1280, 360):
                await mais.set_viewport_size({"width": width, "height": 800})
                await mais.screenshot(path=str(tmp_path / f"board-{width}.png"), full_page=True)
                await mais.locator(".chat").screenshot(path=str(tmp_path / f"chat-{width}.png"))
                scroll = await mais.evaluate("document.documentElement.scrollWidth")
                assert scroll <= width, f"the page is {scroll} px wide at {width} px"
    assert errors == []


async def test_a_move_refused_with_conflict_snaps_back_and_says_why(app, database_url, tmp_path):
    mai, _an, campaign, stages, cards = await team()
    new, contacted, _won = stages
    errors: list[str] = []
    with serving(tmp_path, DATABASE_URL=database_url, SECRET_KEY=TEST_SECRET) as base:
        async with chromium() as browser:
            page = await signed_in(browser, base, mai, errors)
            await open_board(page, campaign)

            # the move goes out with a version the card no longer has
            async def stale(route: Route) -> None:
                body = json.loads(route.request.post_data or "{}")
                if "moveOpportunity" in body.get("query", ""):
                    body["variables"]["input"]["expectedVersion"] = 0
                await route.continue_(post_data=json.dumps(body))

            await page.route("**/graphql", stale)
            await keyboard_move(page, cards[0], contacted)
            message = page.locator("[data-testid=message]")
            await expect(message).to_contain_text("changed meanwhile", timeout=LIVE_WITHIN)
            await expect_column(page, new, cards, 3, "7,000")
            await expect_column(page, contacted, [], 0, "0")
    assert errors == []


async def test_a_page_shows_reconnecting_while_its_server_restarts_then_the_moves_it_missed(
    app, database_url, tmp_path
):
    mai, an, campaign, stages, cards = await team()
    _new, contacted, _won = stages
    errors: list[str] = []
    port = free_port()
    with redis_server() as redis:
        settings = environment(database_url, redis.url)
        with serving(tmp_path, **settings) as base_a:
            async with chromium() as browser:
                # the process behind An's page goes away: the page says so
                page = await left_behind(browser, tmp_path, port, settings, an, campaign, errors)
                connection = page.locator("[data-testid=connection]")
                # a move is made meanwhile, on the other process
                await move(base_a, token_for(mai), cards[1], contacted)
                # and Mai hands An a card, which notifies An
                handed = await post(
                    base_a,
                    ASSIGN,
                    {"input": {"id": gid("Opportunity", cards[0]), "ownerId": gid("User", an)}},
                    token_for(mai),
                )
                assert not handed.get("errors"), handed
                # the process comes back: live again, with the move and the notification
                with server_process(tmp_path, port=port, **settings):
                    await expect(connection).to_have_attribute("data-state", "live", timeout=15_000)
                    await expect_column(page, contacted, [cards[1]], 1, "2,000")
                    count = page.locator("[data-testid=notification-count]")
                    await expect(count).to_have_text("1", timeout=LIVE_WITHIN)
    assert errors == []


async def test_a_campaign_out_of_reach_has_no_link_and_is_cleanly_not_found(
    app, database_url, tmp_path
):
    _mai, _an, campaign, _stages, _cards = await team()
    outsider = await make_user(*SALES, name="Outsider")
    own = await make_campaign(outsider)
    errors: list[str] = []
    with serving(tmp_path, DATABASE_URL=database_url, SECRET_KEY=TEST_SECRET) as base:
        async with chromium() as browser:
            page = await signed_in(browser, base, outsider, errors)
            links = page.locator("[data-testid=campaign-link]")
            await expect(links).to_have_count(1)
            await expect(links).to_have_attribute("data-campaign-id", gid("Campaign", own))
            await page.goto(f"{base}/app/#/campaigns/{gid('Campaign', campaign)}")
            await expect(page.locator("[data-testid=not-found]")).to_be_visible()
            await expect(page.locator("[data-testid=card]")).to_have_count(0)
    assert errors == []


async def test_the_card_detail_shows_the_card_and_edits_and_closes_it(app, database_url, tmp_path):
    mai, _an, campaign, stages, cards = await team()
    new = stages[0]
    first = cards[0]
    errors: list[str] = []
    with serving(tmp_path, DATABASE_URL=database_url, SECRET_KEY=TEST_SECRET) as base:
        async with chromium() as browser:
            page = await signed_in(browser, base, mai, errors)
            await open_board(page, campaign)
            # the detail: fields and stage history
            await card(page, first).locator("[data-testid=card-open]").click()
            detail = page.locator("dialog[data-testid=card-detail]")
            await expect(detail).to_contain_text("Hanoi Coffee")
            await expect(detail.locator(".history li")).to_have_count(1)
            await expect(detail.locator(".history li")).to_contain_text("→ New")
            # an edit of its amount reaches the card and its column's total
            await detail.locator("#edit-amount").fill("1500")
            await detail.locator("form[data-testid=card-edit] button[type=submit]").click()
            await expect(detail).to_have_count(0)
            await expect(card(page, first).locator(".amount")).to_have_text("1,500")
            await expect_column(page, new, cards, 3, "7,500")
            # marked won with its order: the card says so
            await card(page, first).locator("[data-testid=card-open]").click()
            await detail.locator("#outcome-orderAmount").fill("1400")
            await detail.locator("form.outcome button[type=submit]").first.click()
            await expect(card(page, first)).to_have_attribute("data-result", "WON")
            await expect(card(page, first).locator(".badge")).to_have_text("WON")
    assert errors == []


async def test_a_stale_token_leads_back_to_the_sign_in_form(app, database_url, tmp_path):
    errors: list[str] = []
    with serving(tmp_path, DATABASE_URL=database_url, SECRET_KEY=TEST_SECRET) as base:
        async with chromium() as browser:
            context = await browser.new_context()
            await context.add_init_script(
                "sessionStorage.setItem('funnelgraph.token', 'expired.or.forged')"
            )
            page = await context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(f"{base}/app/")
            await expect(page.locator("form[data-testid=login]")).to_be_visible()
            await expect(page.locator("[data-testid=message]")).to_contain_text("sign in again")
            stored = await page.evaluate("sessionStorage.getItem('funnelgraph.token')")
    assert stored is None
    assert errors == []


async def test_chat_history_reads_backwards_page_by_page(app, database_url, tmp_path):
    mai, _an, campaign, _stages, _cards = await team()
    errors: list[str] = []
    with serving(tmp_path, DATABASE_URL=database_url, SECRET_KEY=TEST_SECRET) as base:
        for number in range(35):
            variables = {
                "input": {"campaignId": gid("Campaign", campaign), "body": f"note {number}"}
            }
            posted = await post(base, POST_CHAT, variables, token_for(mai))
            assert not posted.get("errors"), posted
        async with chromium() as browser:
            page = await signed_in(browser, base, mai, errors)
            await open_board(page, campaign)
            messages = page.locator("[data-testid=chat-message]")
            await expect(messages).to_have_count(30)
            await expect(messages.first).to_contain_text("note 5")
            await page.get_by_role("button", name="Earlier messages").click()
            await expect(messages).to_have_count(35)
            await expect(messages.first).to_contain_text("note 0")
            await expect(messages.last).to_contain_text("note 34")
            await expect(page.get_by_role("button", name="Earlier messages")).to_be_hidden()
    assert errors == []


async def test_a_page_whose_cursor_left_the_log_reads_its_board_again(app, database_url, tmp_path):
    # given An's page live on a board, on a process that then goes away
    mai, an, campaign, stages, cards = await team()
    _new, contacted, won = stages
    errors: list[str] = []
    port = free_port()
    settings = {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET}
    with serving(tmp_path, **settings) as base_a:
        async with chromium() as browser:
            page = await left_behind(browser, tmp_path, port, settings, an, campaign, errors)
            connection = page.locator("[data-testid=connection]")
            # when moves are made meanwhile, and the log no longer keeps the first
            for row, column in ((cards[1], contacted), (cards[2], won)):
                await move(base_a, token_for(mai), row, column)
            first_kept = (
                await CampaignEvent.filter(campaign_id=campaign.pk).order_by("-seq").first()
            )
            assert first_kept is not None
            await CampaignEvent.filter(campaign_id=campaign.pk, seq__lt=first_kept.seq).delete()
            # then, its process back, the page reads the board again and is live
            with server_process(tmp_path, port=port, **settings):
                await expect(connection).to_have_attribute("data-state", "live", timeout=15_000)
                await expect_column(page, contacted, [cards[1]], 1, "2,000")
                await expect_column(page, won, [cards[2]], 1, "4,000")
    assert errors == []
