"""The room's wall and the per-atelier QR code (contract section 6)."""
import asyncio
import re
import time

import requests
from playwright.async_api import async_playwright, expect

from tests.browser.conftest import LAUNCH, artifact, axe_violations, link
from tests.browser.test_sheet_page import open_sheet, type_in

WALL = {"width": 1920, "height": 1080}


def test_the_wall_follows_the_writing_within_a_second(live):
    room = live.new_atelier(porteur="Sophie Largeau")

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            _context, writer, errors = await open_sheet(browser, link(live, room["participant"]), room["id"],
                                                        live.base_url)
            wall_context = await browser.new_context(locale="fr-FR", viewport=WALL)
            wall = await wall_context.new_page()
            await wall.goto(link(live, room["porteur"]))
            await wall.goto(f"{live.base_url}/ateliers/{room['id']}/wall")
            await expect(wall.locator("#status")).to_have_text("Connecté", timeout=10_000)
            # Read-only, large type, and nobody new among the people present.
            synthese = wall.get_by_role("textbox", name="Synthèse", exact=True)
            await expect(synthese).to_have_attribute("aria-readonly", "true")
            size = await wall.evaluate(
                "() => parseFloat(getComputedStyle(document.querySelector('#editor-synthese .cm-content')).fontSize)")
            assert size >= 24
            await type_in(writer, "Éléments importants de la discussion", "\n".join(f"Point {i}." for i in range(40)))
            await expect(writer.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            await expect(wall.get_by_text("Point 39.")).to_be_in_viewport(timeout=5_000)
            await type_in(writer, "Éléments importants de la discussion", "\nLe dernier mot.")
            started = time.monotonic()
            await expect(wall.get_by_text("Le dernier mot.")).to_be_in_viewport(timeout=5_000)
            assert time.monotonic() - started < 1.0
            assert await writer.locator("#present li").count() == 1  # the wall is not a person
            await wall.screenshot(path=artifact("wall-1920x1080.png"))
            assert await axe_violations(wall) == []
            assert errors == []
            await browser.close()

    asyncio.run(scenario())


def test_the_wall_shows_the_published_version_to_anyone_else(live):
    room = live.new_atelier()
    assert requests.get(f"{live.base_url}/ateliers/{room['id']}/wall").status_code == 404  # not published

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            _context, writer, _errors = await open_sheet(browser, link(live, room["porteur"]), room["id"],
                                                         live.base_url)
            await type_in(writer, "Synthèse", "Ce que l'atelier retient.")
            await expect(writer.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            published = requests.post(f"{live.base_url}/api/ateliers/{room['id']}/publish",
                                      headers={"Authorization": f"Bearer {room['porteur']}"})
            assert published.status_code == 201
            public = await (await browser.new_context(viewport=WALL)).new_page()
            await public.goto(f"{live.base_url}/ateliers/{room['id']}/wall")
            await expect(public.get_by_text("Ce que l'atelier retient.")).to_be_visible()
            assert await axe_violations(public) == []
            await browser.close()

    asyncio.run(scenario())


def test_an_ateliers_qr_code_leads_into_that_sheet(live):
    room = live.new_atelier()
    other = live.post(f"/api/events/{room['slug']}/ateliers", {"title": "Tiers-lieux"}, token=room["organiser"])

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            porteur = await (await browser.new_context(locale="fr-FR")).new_page()
            await porteur.goto(link(live, other["porteur_token"]))
            await porteur.goto(f"{live.base_url}/ateliers/{other['id']}/qr")
            join_url = await porteur.locator("a[href*=\"/join/\"]").get_attribute("href")
            assert join_url.endswith(f"?atelier={other['id']}")
            assert await porteur.locator(".qr svg").count() == 1
            assert await axe_violations(porteur) == []
            # Someone in the room scans it on a phone: a name, then that sheet.
            phone = await (await browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844},
                                                     is_mobile=True, has_touch=True)).new_page()
            await phone.goto(join_url)
            await phone.get_by_label("Votre nom").fill("Cécile Joly")
            await phone.get_by_role("button", name="Rejoindre").click()
            await expect(phone).to_have_url(re.compile(f"/ateliers/{other['id']}$"))
            await expect(phone.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            # Scanned again by someone already in: straight to the sheet.
            await phone.goto(join_url)
            await expect(phone).to_have_url(re.compile(f"/ateliers/{other['id']}$"))
            await browser.close()

    asyncio.run(scenario())


def test_the_event_wall_shows_the_current_sessions_ateliers_live(live):
    room = live.new_atelier(porteur="Sophie Largeau")
    requests.patch(f"{live.base_url}/api/events/{room['slug']}", json={"current_session": "Session 1"},
                   headers={"Authorization": f"Bearer {room['organiser']}"}).raise_for_status()

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            _context, writer, _errors = await open_sheet(browser, link(live, room["participant"]), room["id"],
                                                         live.base_url)
            wall = await (await browser.new_context(locale="fr-FR", viewport=WALL)).new_page()
            await wall.goto(link(live, room["organiser"]))
            await wall.goto(f"{live.base_url}/events/{room['slug']}/wall")
            card = wall.locator(f"#wall-{room['id']}")
            await expect(card.locator(".wall-people")).to_contain_text("Anna Szeremeta", timeout=10_000)
            await type_in(writer, "Synthèse", "Trois idées fortes.")
            await expect(card.locator(".wall-excerpt")).to_have_text("Trois idées fortes.", timeout=10_000)
            await expect(card.locator(".wall-state")).to_have_text("En cours d'écriture")
            await wall.screenshot(path=artifact("event-wall-1920x1080.png"))
            assert await axe_violations(wall) == []
            await browser.close()

    asyncio.run(scenario())
