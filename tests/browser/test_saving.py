""""Enregistré" means stored: the page says it only once the server has
committed what it sent, though the room sees it before (relay, then commit)."""
import asyncio

import pytest
from playwright.async_api import async_playwright, expect

from tests.browser.conftest import LAUNCH, artifact
from tests.browser.test_sheet_page import editor_text, porteur_and_participant, type_in, wait_text
from tests.conftest import LiveServer
from tests.live.test_durability import commits_held

VIEWPORTS = {"desktop": dict(viewport={"width": 1280, "height": 800}),
             "phone": dict(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)}


@pytest.mark.parametrize("device", VIEWPORTS)
def test_the_page_says_enregistre_only_once_committed_and_then_a_crash_loses_nothing(tmp_path, request, device):
    server = LiveServer(tmp_path).start()
    request.addfinalizer(server.stop)
    room = server.new_atelier()
    participant = server.post(f"/api/events/{room['slug']}/participants",
                              {"join_code": room["join_code"], "name": "Cécile Joly"})

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            (_, sophie, errors_a), (_, cecile, errors_b) = await porteur_and_participant(
                browser, server, room, participant, **VIEWPORTS[device])
            # Each person's first words are committed before the room sees them.
            await type_in(sophie, "Synthèse", "Premier mot. ")
            await expect(sophie.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            await wait_text(cecile, "synthese", lambda t: "Premier mot." in t)

            with commits_held(server.env["SYNTHESE_DATABASE_URL"], room["id"]):
                await type_in(sophie, "Synthèse", "Relayé avant d'être enregistré. ")
                # Cécile reads it at once; Sophie's page does not claim it is stored.
                await wait_text(cecile, "synthese", lambda t: "Relayé avant" in t)
                await expect(sophie.locator("#status")).to_have_text("Enregistrement…")
                await asyncio.sleep(0.5)
                await expect(sophie.locator("#status")).to_have_text("Enregistrement…")
                stored = server.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]
                assert "Relayé" not in stored["synthese"]
                await sophie.screenshot(path=str(artifact(f"saving-{device}.png")))
            await expect(sophie.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            text = await editor_text(sophie, "synthese")

            server.kill()  # right after "Enregistré"; nobody reconnects to a dead server
            await browser.close()
            server.start()
            stored = server.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]
            assert stored["synthese"] == text
            assert not errors_a and not errors_b, errors_a + errors_b

    asyncio.run(scenario())
