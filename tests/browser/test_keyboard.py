"""By keyboard alone, and heard through a screen reader's live region: Tab
leaves each section for the next (no keyboard trap: WCAG 2.1.2, RGAA 12.9),
a skip link (RGAA 12.7), focus kept after an action (RGAA 12.8), and the
status announced only when its state changes (RGAA 7.5)."""
import asyncio

import pytest
from playwright.async_api import async_playwright, expect

from tests.browser.conftest import LAUNCH, axe_violations, link
from tests.browser.test_sheet_page import editor_text, open_sheet

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


async def focused_editor(page) -> str | None:
    """The section whose editor has the focus, if one has."""
    return await page.evaluate(
        "() => document.activeElement?.closest('.editor')?.dataset.section ?? null")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_tab_moves_between_sections_and_never_indents(live, viewport):
    room = live.new_atelier(porteur="Sophie Largeau")

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            context, page, errors = await open_sheet(browser, link(live, room["porteur"]), room["id"], live.base_url)
            await page.set_viewport_size(VIEWPORTS[viewport])
            await page.get_by_role("textbox", name="Synthèse", exact=True).click()
            await page.keyboard.type("Une idée")
            await page.keyboard.press("Tab")
            assert await focused_editor(page) == "porteur"
            await page.keyboard.press("Shift+Tab")
            assert await focused_editor(page) == "synthese"
            assert await editor_text(page, "synthese") == "Une idée"  # no tab character typed
            # Indenting is on Ctrl+], as the page says.
            await page.keyboard.press("Control+]")
            assert (await editor_text(page, "synthese")).startswith(("  Une idée", "\tUne idée"))
            hint = page.locator("#keys-hint")
            await expect(hint).to_contain_text("Tab")
            described = await page.get_by_role("textbox", name="Synthèse", exact=True).get_attribute(
                "aria-describedby")
            assert described == "keys-hint"
            assert errors == []
            await context.close()
            await browser.close()

    asyncio.run(scenario())


def test_a_skip_link_comes_first_and_leads_to_the_content(live):
    room = live.new_atelier()

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            context, page, _errors = await open_sheet(browser, link(live, room["porteur"]), room["id"], live.base_url)
            await page.keyboard.press("Tab")
            skip = page.get_by_role("link", name="Aller au contenu")
            await expect(skip).to_be_focused()
            await page.keyboard.press("Enter")
            assert await page.evaluate("() => document.activeElement.id") == "main"
            assert await axe_violations(page) == []
            await context.close()
            await browser.close()

    asyncio.run(scenario())


def test_je_participe_keeps_the_focus(live):
    room = live.new_atelier()

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            context, page, _errors = await open_sheet(
                browser, link(live, room["participant"]), room["id"], live.base_url)
            button = page.get_by_role("button", name="Je participe")
            await button.focus()
            await page.keyboard.press("Enter")
            listed = page.get_by_role("button", name="Vous êtes dans la liste des participants.")
            await expect(listed).to_be_focused()
            await expect(listed).to_have_attribute("aria-disabled", "true")
            await page.keyboard.press("Enter")  # again: nothing more is added
            await asyncio.sleep(0.3)
            assert (await editor_text(page, "participants")).count("\n") == 1
            await context.close()
            await browser.close()

    asyncio.run(scenario())


def test_the_live_region_speaks_of_changes_of_state_not_of_keystrokes(live):
    room = live.new_atelier()

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            context, page, _errors = await open_sheet(browser, link(live, room["porteur"]), room["id"], live.base_url)
            region = page.get_by_role("status")
            await expect(region).to_have_text("Connecté")
            await page.evaluate("""() => {
                window.announced = []
                new MutationObserver(() => window.announced.push(document.getElementById('announce').textContent))
                    .observe(document.getElementById('announce'), {childList: true, characterData: true, subtree: true})
            }""")
            await page.get_by_role("textbox", name="Synthèse", exact=True).click()
            await page.keyboard.type("Trois secondes de frappe continue, lettre après lettre.", delay=50)
            await expect(page.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            assert await page.evaluate("() => window.announced") == []
            await context.set_offline(True)
            await expect(region).to_contain_text("Hors ligne", timeout=10_000)
            await page.keyboard.type(" Hors ligne.")
            await context.set_offline(False)
            await expect(region).to_have_text("Vos modifications faites hors ligne sont enregistrées.",
                                              timeout=20_000)
            heard = await page.evaluate("() => window.announced")
            assert len(heard) <= 4, heard  # offline, connected, saved: a few, not one per key
            await context.close()
            await browser.close()

    asyncio.run(scenario())


def test_a_secret_link_shown_once_is_copied_in_one_tap(live):
    room = live.new_atelier()

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            context = await browser.new_context(locale="fr-FR")
            await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.base_url)
            page = await context.new_page()
            await page.goto(link(live, room["organiser"]))
            await page.goto(f"{live.base_url}/events/{room['slug']}/manage")
            await page.get_by_role("button", name="Nouveau lien d'organisation").click()
            shown = await page.locator(".secret-link").input_value()
            copy = page.get_by_role("button", name="Copier le lien")
            await copy.click()
            await expect(page.get_by_role("button", name="Copié")).to_be_visible()
            assert await page.evaluate("() => navigator.clipboard.readText()") == shown
            assert "/t/" in shown
            await browser.close()

    asyncio.run(scenario())
