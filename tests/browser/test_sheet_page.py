"""Two people write the same sheet at the same time, in real browsers."""
import asyncio
import re
from collections import Counter

import requests

from playwright.async_api import async_playwright, expect

from tests.browser.conftest import LAUNCH, artifact, axe_violations


async def open_sheet(browser, url, atelier_id, base_url, **context_options):
    context = await browser.new_context(locale="fr-FR", **context_options)
    page = await context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(url)
    if not page.url.endswith(f"/ateliers/{atelier_id}"):
        await page.goto(f"{base_url}/ateliers/{atelier_id}")
    await expect(page.locator("#status")).to_have_text("Enregistré", timeout=10_000)
    return context, page, errors


async def porteur_and_participant(browser, server, room, participant, **context_options):
    """The porteur's and a participant's sheet pages, opened at once: ((context, page, errors), ...)."""
    return await asyncio.gather(
        open_sheet(browser, f"{server.base_url}/t/{room['porteur']}", room["id"], server.base_url, **context_options),
        open_sheet(browser, participant["url"], room["id"], server.base_url, **context_options),
    )


async def editor_text(page, key):
    """The editor's document (innerText would include remote cursors' name labels)."""
    return await page.evaluate("key => document.getElementById('editor-' + key).view.state.doc.toString()", key)


async def wait_text(page, key, predicate, timeout=10):
    """Wait until a section's text satisfies ``predicate``; return it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        text = await editor_text(page, key)
        if predicate(text):
            return text
        if loop.time() > deadline:
            raise AssertionError(f"{key!r} never matched; last text: {text!r}")
        await asyncio.sleep(0.05)


async def type_in(page, section, text):
    editor = page.get_by_role("textbox", name=section, exact=True)
    await editor.click()
    await page.keyboard.press("Control+End")
    await page.keyboard.type(text, delay=25)


def in_order(typed: str, text: str) -> bool:
    """Whether ``typed`` appears in ``text`` in order (other characters between allowed)."""
    rest = iter(text)
    return all(char in rest for char in typed)


def test_two_people_write_the_same_section_at_once(live):
    room = live.new_atelier(porteur="Sophie Largeau, Ville de Paris")
    participant = live.post(f"/api/events/{room['slug']}/participants",
                            {"join_code": room["join_code"], "name": "Cécile Joly"})

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            (ctx_a, sophie, errors_a), (ctx_b, cecile, errors_b) = await porteur_and_participant(
                browser, live, room, participant)
            # Every section is a labelled editor.
            for title in ["Question", "Synthèse", "Porteur", "Participants", "Éléments importants de la discussion"]:
                await expect(sophie.get_by_role("textbox", name=title, exact=True)).to_be_visible()
            await wait_text(sophie, "porteur", lambda t: t == "Sophie Largeau, Ville de Paris")
            # The cookie by which nginx places the room's sockets on one process.
            placed = [c for c in await ctx_a.cookies() if c["name"] == "synthese_room"]
            assert [(c["value"], c["path"], c["sameSite"]) for c in placed] == [(str(room["id"]), "/socket.io/", "Strict")]

            # Both type into Synthèse at the same time.
            typed_a, typed_b = "Proposer une expérimentation sur trois jours. ", "Avec des élus et des citoyens 😀. "
            await asyncio.gather(type_in(sophie, "Synthèse", typed_a), type_in(cecile, "Synthèse", typed_b))
            for page in (sophie, cecile):
                await expect(page.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            text_a = await editor_text(sophie, "synthese")
            await wait_text(cecile, "synthese", lambda t: t == text_a)
            # Every character typed, once, each person's in their order. (Typed
            # at the same spot at the same instant, the two may interleave:
            # both orders are right for a CRDT, neither loses a character.)
            assert Counter(text_a) == Counter(typed_a + typed_b)
            assert in_order(typed_a, text_a) and in_order(typed_b, text_a)
            stored = live.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]
            assert stored["synthese"] == text_a

            # Presence: each sees the other, and where they write.
            await expect(sophie.locator("#present")).to_contain_text("Cécile Joly")
            await expect(sophie.locator("#present")).to_contain_text("écrit dans Synthèse")
            await expect(cecile.locator("#present")).to_contain_text("Sophie Largeau, Ville de Paris")

            # "Je participe" adds one's name to the Participants section, once.
            await cecile.get_by_role("button", name="Je participe").click()
            await wait_text(sophie, "participants", lambda t: t == "Cécile Joly\n")

            # Offline edits are kept, announced, and merged on reconnect.
            await ctx_b.set_offline(True)
            await cecile.evaluate("window.dispatchEvent(new Event('offline'))")
            await expect(cecile.locator("#status")).to_contain_text("Hors ligne", timeout=10_000)
            await type_in(cecile, "Question", "Comment embarquer les dirigeants ?")
            await type_in(sophie, "Question", "Question du porteur. ")
            await ctx_b.set_offline(False)
            await expect(cecile.locator("#status")).to_have_text("Enregistré", timeout=20_000)
            question = await editor_text(cecile, "question")
            await wait_text(sophie, "question", lambda t: t == question)
            assert "Comment embarquer les dirigeants ?" in question and "Question du porteur." in question

            # Leaving removes the presence.
            await cecile.close()
            await expect(sophie.locator("#present")).not_to_contain_text("Cécile Joly", timeout=5_000)

            await sophie.screenshot(path=artifact("sheet-page.png"), full_page=True)
            violations = await axe_violations(sophie)
            assert violations == []
            assert errors_a == []
            # The only error allowed: the connection attempts made while offline.
            assert [e for e in errors_b if "ERR_INTERNET_DISCONNECTED" not in e] == []
            await browser.close()

    asyncio.run(scenario())


def test_pages_without_accessibility_violations(live):
    room = live.new_atelier()

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            page = await browser.new_page()
            for path in ["/", f"/join/{room['join_code']}", f"/ateliers/{room['id']}", "/t/invalid-link-0000000000000"]:
                await page.goto(live.base_url + path)
                assert await axe_violations(page) == [], path
            await page.goto(f"{live.base_url}/t/{room['organiser']}")
            assert await axe_violations(page) == [], "event page"
            await page.screenshot(path=artifact("event-page.png"), full_page=True)
            await browser.close()

    asyncio.run(scenario())


def test_a_reconnecting_tab_is_placed_in_its_own_room_again(live):
    """Two tabs of one browser on two ateliers share one room cookie: the tab
    whose socket reconnects sets it back to its own atelier first, so nginx
    places it with its room's people."""
    room = live.new_atelier()
    other = live.post(f"/api/events/{room['slug']}/ateliers", {"title": "Commande publique"},
                      token=room["organiser"])

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            context = await browser.new_context(locale="fr-FR")
            first, second = await context.new_page(), await context.new_page()
            sockets = []

            async def through(ws):  # the first tab's sockets, passed on to the server
                ws.connect_to_server()
                sockets.append(ws)

            await first.route_web_socket(re.compile(r"/socket\.io/"), through)
            await first.goto(f"{live.base_url}/t/{room['organiser']}")
            for page, atelier_id in ((first, room["id"]), (second, other["id"])):
                await page.goto(f"{live.base_url}/ateliers/{atelier_id}")
                await expect(page.locator("#status")).to_have_text("Enregistré", timeout=10_000)

            async def placed():
                return [c["value"] for c in await context.cookies() if c["name"] == "synthese_room"]

            assert await placed() == [str(other["id"])]  # the tab opened last
            await sockets[-1].close()  # the first tab's connection drops
            await expect(first.locator("#status")).not_to_have_text("Enregistré", timeout=5_000)
            await expect(first.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            assert len(sockets) == 2
            assert await placed() == [str(room["id"])]
            await browser.close()

    asyncio.run(scenario())


def test_text_typed_offline_survives_a_closed_page_and_reaches_the_server(live):
    """The phone drops the tab while offline: the text is in the browser's
    store (IndexedDB) and is sent when the sheet is opened again."""
    room = live.new_atelier()

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            context, page, errors = await open_sheet(browser, f"{live.base_url}/t/{room['porteur']}", room["id"],
                                                     live.base_url)
            await context.set_offline(True)
            await expect(page.locator("#status")).to_contain_text("Hors ligne", timeout=10_000)
            await type_in(page, "Synthèse", "Écrit dans le train, sans réseau.")
            await asyncio.sleep(0.5)  # the browser's store writes as one types
            await page.close()
            await context.set_offline(False)
            assert live.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]["synthese"] == ""
            again = await context.new_page()
            await again.goto(f"{live.base_url}/ateliers/{room['id']}")
            await expect(again.locator("#status")).to_have_text("Enregistré", timeout=15_000)
            stored = live.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]["synthese"]
            assert stored == "Écrit dans le train, sans réseau."
            assert await editor_text(again, "synthese") == stored  # once, not twice
            # The only errors: the socket's attempts while the network was off.
            assert [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
            await context.close()
            await browser.close()

    asyncio.run(scenario())


def test_a_removed_sheet_is_forgotten_by_the_browser(live):
    room = live.new_atelier()

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            context, page, _errors = await open_sheet(browser, f"{live.base_url}/t/{room['porteur']}", room["id"],
                                                      live.base_url)
            await type_in(page, "Synthèse", "Texte")
            await expect(page.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            requests.delete(f"{live.base_url}/api/ateliers/{room['id']}",
                                headers={"Authorization": f"Bearer {room['organiser']}"}).raise_for_status()
            await expect(page.locator("#status")).to_contain_text("supprimé", timeout=10_000)
            await asyncio.sleep(0.3)
            databases = await page.evaluate("() => indexedDB.databases().then(ds => ds.map(d => d.name))")
            assert not [name for name in databases if name.startswith(f"synthese:{room['id']}:")]
            await context.close()
            await browser.close()

    asyncio.run(scenario())


def test_the_publication_state_is_live_on_the_sheet_page(live):
    room = live.new_atelier()

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            _context, page, _errors = await open_sheet(browser, f"{live.base_url}/t/{room['participant']}",
                                                       room["id"], live.base_url)
            await type_in(page, "Synthèse", "Prête à publier.")
            await expect(page.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            await expect(page.locator("#publication-state")).to_have_text("Pas encore publiée")
            live.post(f"/api/ateliers/{room['id']}/publish", {}, token=room["porteur"], expect=201)
            await expect(page.locator("#publication-state")).to_have_text("Publiée : version 1", timeout=5_000)
            await browser.close()

    asyncio.run(scenario())


def test_markdown_shows_while_writing(live):
    """**bold** shows bold and *emphasis* italic as one types, as they will
    once published; the text itself keeps its marks."""
    room = live.new_atelier()

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            _context, page, errors = await open_sheet(browser, f"{live.base_url}/t/{room['porteur']}", room["id"],
                                                      live.base_url)
            await type_in(page, "Synthèse", "Un **point fort** et une *nuance*.")
            editor = page.locator("#editor-synthese .cm-content")
            look = """(el, word) => {
              const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT)
              while (walker.nextNode()) {
                if (walker.currentNode.textContent.includes(word)) {
                  const style = getComputedStyle(walker.currentNode.parentElement)
                  return [style.fontWeight, style.fontStyle]
                }
              }
              return null
            }"""
            assert await editor.evaluate(look, "point fort") == ["700", "normal"]
            assert await editor.evaluate(look, "nuance") == ["400", "italic"]
            assert await editor.evaluate(look, "Un ") == ["400", "normal"]
            assert await editor_text(page, "synthese") == "Un **point fort** et une *nuance*."
            assert errors == []
            await browser.close()

    asyncio.run(scenario())
