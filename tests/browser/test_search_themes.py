"""Searching an event and reading its themes, in real browsers: the
organiser on a desktop (live sheets, themes), a visitor on a phone
(published versions only)."""
import asyncio
from pathlib import Path

import pytest
import requests
from playwright.async_api import async_playwright, expect

from tests.browser.conftest import LAUNCH, artifact, axe_violations, link

FIXTURE = Path(__file__).parent.parent / "fixtures" / "forum-themes.md"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def forum(live):
    event = live.post("/api/events", {"title": "Forum des territoires innovants 2026", "place": "Clermont-Ferrand"})
    auth = {"Authorization": f"Bearer {event['organiser_token']}"}
    imported = requests.post(f"{live.base_url}/api/events/{event['slug']}/import", data=FIXTURE.read_bytes(),
                             headers={**auth, "Content-Type": "text/markdown"}, timeout=30)
    imported.raise_for_status()
    created = imported.json()["created"]
    budget = next(c for c in created if c["title"] == "Budget participatif")
    live.post(f"/api/ateliers/{budget['id']}/publish", {}, token=event["organiser_token"])
    return event, created, budget


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_organiser_reads_the_themes_and_searches_the_live_sheets(live, forum, viewport):
    event, created, _budget = forum

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            context = await browser.new_context(locale="fr-FR", viewport=VIEWPORTS[viewport],
                                                is_mobile=viewport == "phone", has_touch=viewport == "phone")
            page = await context.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(link(live, event["organiser_token"]))
            themes = page.locator("#themes")
            await expect(themes.get_by_role("heading", name="Les thèmes qui reviennent")).to_be_visible()
            await expect(themes.get_by_role("heading", name="Participation", exact=True)).to_be_visible()
            await expect(themes.get_by_role("heading", name="Transition écologique")).to_be_visible()
            await expect(themes).to_contain_text("Atelier 3 - Conseil citoyen tiré au sort - Session 2")
            await themes.scroll_into_view_if_needed()
            await page.screenshot(path=artifact(f"event-themes-{viewport}.png"), full_page=viewport == "desktop")
            assert await axe_violations(page) == []
            # The page does not overflow the phone's width.
            assert await page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[viewport]["width"]

            # By keyboard: the search box, words with accents and plurals folded.
            await page.get_by_label("Rechercher dans les fiches").fill("LEGUMERIE producteur")
            await page.keyboard.press("Enter")
            await expect(page.get_by_role("heading", name="1 résultat")).to_be_visible()
            await expect(page.locator(".results mark")).to_have_text(["producteurs", "légumeries"])
            await expect(page.locator(".meta").first).to_contain_text("telles qu'elles s'écrivent")
            assert await axe_violations(page) == []
            # Narrowed to one section.
            await page.get_by_label("Rechercher dans les fiches").fill("habitants")
            await page.get_by_label("Section").select_option(label="Question")
            await page.get_by_role("button", name="Rechercher").click()
            results = page.locator(".results > li")
            await expect(results.first).to_contain_text("Question")
            assert all("— Question" in t for t in await results.all_inner_texts())
            # A result opens the sheet at its section.
            await results.first.get_by_role("link").click()
            await expect(page.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            assert page.url.endswith("#section-question")
            assert await page.locator("#section-question").evaluate(
                "el => { const r = el.getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0 }")
            assert errors == []
            await browser.close()

    asyncio.run(scenario())


def test_a_visitor_on_a_phone_searches_the_published_versions(live, forum):
    event, _created, budget = forum

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            context = await browser.new_context(locale="fr-FR", viewport=VIEWPORTS["phone"], is_mobile=True,
                                                has_touch=True)
            page = await context.new_page()
            await page.goto(f"{live.base_url}/events/{event['slug']}")
            await page.get_by_label("Rechercher dans les fiches").fill("habitants")
            await page.get_by_role("button", name="Rechercher").click()
            # Only the published sheet (Budget participatif), though many drafts say « habitants ».
            titles = await page.locator(".results > li > a").all_inner_texts()
            assert titles and set(titles) == {"Atelier 1 - Budget participatif - Session 1"}
            await expect(page.locator(".meta").first).to_contain_text("versions publiées")
            assert await axe_violations(page) == []
            assert await page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS["phone"]["width"]
            await page.locator(".results > li > a").first.click()
            assert f"/ateliers/{budget['id']}#section-" in page.url
            await expect(page.get_by_role("heading", name="Question")).to_be_visible()
            await page.screenshot(path=artifact("search-phone.png"))
            await browser.close()

    asyncio.run(scenario())
