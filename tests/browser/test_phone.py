"""The sheet on a phone with eight people in the room: the panel is one line
that opens on demand, never over the caret, and who writes where shows on
each section's title. The organiser's pages fit a phone's width too."""
import asyncio
import json

import pytest
from playwright.async_api import async_playwright, expect

from tests.browser.conftest import LAUNCH, artifact, axe_violations
from tests.ysocket import YClient

#: An upright phone, then the same with its on-screen keyboard open.
PHONES = {"390x844": {"width": 390, "height": 844}, "390x470": {"width": 390, "height": 470}}
NAMES = ["Cécile Joly", "Karim Benali", "Léa Martin", "Paul Nguyen", "Inès Roussel", "Hugo Petit", "Zoé Marchand"]


def others_in_the_room(live, room) -> list[YClient]:
    """Seven more people, each writing in one section (presence only)."""
    people = []
    for i, name in enumerate(NAMES):
        client = YClient(live.base_url, room["id"], room["participant"], name).connect()
        section = "synthese" if i < 3 else "discussion"
        client.announce(client.doc.client_id, 1, json.dumps(
            {"user": {"name": name, "color": "#8250df"}, "section": section}))
        people.append(client)
    return people


async def box(locator) -> dict:
    found = await locator.bounding_box()
    assert found is not None
    return found


def overlaps(a: dict, b: dict) -> bool:
    return not (a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"]
                or a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"])


@pytest.mark.parametrize("phone", list(PHONES))
def test_on_a_phone_the_panel_is_one_line_and_never_covers_the_caret(live, phone):
    room = live.new_atelier(porteur="Sophie Largeau")
    people = others_in_the_room(live, room)

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            context = await browser.new_context(locale="fr-FR", viewport=PHONES[phone], is_mobile=True,
                                                has_touch=True)
            page = await context.new_page()
            await page.goto(f"{live.base_url}/t/{room['porteur']}")
            await expect(page.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            bar = page.locator(".side")
            await expect(page.locator("#people-count")).to_have_text("8 présents", timeout=10_000)
            assert (await box(bar))["height"] < 60  # one line, folded
            # Who writes where, without opening anything.
            await expect(page.locator("#here-synthese .avatar")).to_have_count(3)
            await expect(page.locator("#here-discussion .avatar")).to_have_count(4)
            # A tap on the editor lands in the editor, and typing keeps the caret in view, clear of the bar.
            editor = page.get_by_role("textbox", name="Synthèse", exact=True)
            await editor.tap()
            assert await page.evaluate("() => !!document.activeElement.closest('#editor-synthese')")
            for n in range(25):
                await page.keyboard.type(f"Idée {n} du groupe")
                await page.keyboard.press("Enter")
            caret = await box(page.locator("#editor-synthese .cm-cursor-primary"))
            assert 0 <= caret["y"] and caret["y"] + caret["height"] <= PHONES[phone]["height"]
            assert not overlaps(caret, await box(bar))
            await page.screenshot(path=artifact(f"phone-{phone}-eight-people.png"))
            # The panel opens on demand, and folds again when one goes back to the text.
            await page.locator(".side-bar").tap()
            await expect(page.get_by_role("heading", name="Présents")).to_be_visible()
            await expect(page.locator("#present li")).to_have_count(8)
            await page.screenshot(path=artifact(f"phone-{phone}-panel-open.png"))
            assert await axe_violations(page) == []
            await page.keyboard.press("Escape")  # or a tap beside it
            await expect(page.get_by_role("heading", name="Présents")).to_be_hidden()
            await page.locator(".side-bar").tap()
            await page.mouse.click(PHONES[phone]["width"] // 2, PHONES[phone]["height"] - 5)
            await expect(page.get_by_role("heading", name="Présents")).to_be_hidden()
            await editor.tap()
            assert await page.evaluate("() => !!document.activeElement.closest('#editor-synthese')")
            await browser.close()

    try:
        asyncio.run(scenario())
    finally:
        for client in people:
            client.disconnect()


@pytest.mark.parametrize("path", ["/events/{slug}", "/events/{slug}/manage"])
def test_the_organisers_pages_fit_a_phone(live, path):
    room = live.new_atelier()

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            context = await browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844},
                                                is_mobile=True, has_touch=True)
            page = await context.new_page()
            await page.goto(f"{live.base_url}/t/{room['organiser']}")
            await page.goto(live.base_url + path.format(slug=room["slug"]))
            width = await page.evaluate("() => document.scrollingElement.scrollWidth")
            await page.screenshot(path=artifact(f"phone-{path.split('/')[-1] or 'event'}.png"), full_page=True)
            assert width <= 390, f"{path} is {width} px wide on a 390 px phone"
            await browser.close()

    asyncio.run(scenario())
