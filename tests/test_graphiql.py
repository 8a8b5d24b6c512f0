"""GraphiQL in a real browser that cannot reach the CDN it loads from: a page that says
so and leads to the schema, not a blank one."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Route, async_playwright

from tests.live import serving

CHROMIUM = "/usr/bin/chromium"  # Debian's (scripts/services installs it)


async def test_graphiql_without_its_cdn_says_so_and_offers_the_schema(
    database_url: str, tmp_path: Path
) -> None:
    # given a development server, and a browser to which unpkg.com does not answer
    with serving(tmp_path, DATABASE_URL=database_url) as base:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM)
            try:
                page = await browser.new_page()

                async def unreachable(route: Route) -> None:
                    await route.abort("internetdisconnected")

                await page.route("https://unpkg.com/**", unreachable)
                # when it opens /graphql
                await page.goto(f"{base}/graphql")
                notice = page.locator("#graphiql-offline")
                await notice.wait_for(timeout=15_000)
                await page.screenshot(path=str(tmp_path / "graphiql-offline.png"))
                text = await notice.inner_text()
                client = await page.locator("#web-client").get_attribute("href")
                # then it says why, and its link leads to the schema
                await page.locator("#sdl").click()
                await page.wait_for_url(f"{base}/graphql/schema.graphql")
                schema = await page.locator("body").inner_text()
            finally:
                await browser.close()
    assert "GraphiQL could not load" in text
    assert client == "/app/"
    assert f"curl -s {base}/graphql" in text
    assert "type Query {" in schema and "moveOpportunity" in schema
