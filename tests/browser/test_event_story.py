"""The whole story of an event, in real browsers: organise, join, co-write,
publish, read publicly, export; and the join-and-write flow by keyboard alone."""
import asyncio
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.async_api import async_playwright, expect

from tests.browser.conftest import LAUNCH, artifact, axe_violations
from tests.browser.test_sheet_page import editor_text, type_in, wait_text

PAGES_CHECKED = []


async def check_axe(page, name):
    violations = await axe_violations(page)
    assert violations == [], (name, violations)
    PAGES_CHECKED.append(name)


async def new_page(browser, errors):
    # The browsers are in Paris; the event below is in La Réunion (UTC+4).
    context = await browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", accept_downloads=True)
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return context, page


async def secret_link(page):
    return await page.locator("input.secret-link").input_value()


async def join(page, base_url, code, name, atelier_title):
    await page.goto(f"{base_url}/join")
    await page.get_by_label("Code de l'événement").fill(code)
    await page.get_by_label("Votre nom").fill(name)
    await page.get_by_role("button", name="Rejoindre").click()
    await expect(page.get_by_role("heading", name="Session en cours : Session 1")).to_be_visible()
    await page.get_by_role("link", name=atelier_title).first.click()
    await expect(page.locator("#status")).to_have_text("Enregistré", timeout=10_000)


def test_an_event_from_creation_to_proceedings(live):
    async def scenario():
        errors = []
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            base = live.base_url

            # The organiser creates the event with two sessions.
            _, org = await new_page(browser, errors)
            await org.goto(f"{base}/events/new")
            await check_axe(org, "new event")
            await org.get_by_label("Titre").fill("Forum de l'innovation publique 2026")
            await org.get_by_label("Lieu").fill("Lyon")
            await org.get_by_label("Sessions").fill("Session 1 | 10h-11h30\nSession 2 | 14h-15h30")
            await org.get_by_label("Fuseau horaire").select_option(label="La Réunion")
            await org.get_by_role("button", name="Créer l'événement").click()
            await expect(org.get_by_role("heading", level=1)).to_contain_text("Gérer")
            organiser_link = await secret_link(org)
            assert "/t/" in organiser_link
            slug = org.url.split("/events/")[1].split("/")[0]
            await check_axe(org, "manage")

            # Three ateliers, two in the first session.
            porteur_links = {}
            for number, title, session, porteur in [
                (1, "Emergence", "Session 1", "Sophie Largeau, Ville de Paris"),
                (2, "Données ouvertes", "Session 1", "Karim Benali"),
                (1, "Commande publique", "Session 2", ""),
            ]:
                form = org.locator("form", has=org.get_by_role("button", name="Ajouter l'atelier"))
                await form.get_by_label("Numéro").fill(str(number))
                await form.get_by_label("Titre ou thème").fill(title)
                await form.get_by_label("Session", exact=True).select_option(session)
                await form.get_by_label("Porteur (nom, organisation)").fill(porteur)
                await form.get_by_role("button", name="Ajouter l'atelier").click()
                porteur_links[title] = await secret_link(org)
            await org.get_by_label("Session 1 (10h-11h30)").check()
            await org.get_by_role("button", name="Enregistrer la session en cours").click()
            await expect(org.locator(".flash.info")).to_contain_text("Session en cours enregistrée")
            event = live.get(f"/api/events/{slug}", token=None).json()
            assert event["ateliers"] == []  # nothing published yet
            await org.get_by_role("link", name="Afficher le code et le QR code").click()
            code = (await org.locator(".code").inner_text()).strip()
            assert re.fullmatch(r"[A-Z0-9]{3}-[A-Z0-9]{3}", code)
            await check_axe(org, "qr")
            await org.screenshot(path=artifact("qr-page.png"), full_page=True)

            # Two participants join by code and co-write the first sheet.
            _, anna = await new_page(browser, errors)
            _, cecile = await new_page(browser, errors)
            await asyncio.gather(
                join(anna, base, code.lower(), "Anna Szeremeta", "Atelier 1 - Emergence - Session 1"),
                join(cecile, base, code, "Cécile Joly", "Atelier 1 - Emergence - Session 1"),
            )
            await check_axe(anna, "sheet (participant)")
            await asyncio.gather(
                type_in(anna, "Synthèse", "Proposer une expérimentation de trois jours. "),
                type_in(cecile, "Synthèse", "Avec des élus et des citoyens. "),
            )
            await type_in(cecile, "Éléments importants de la discussion", "Vigilance sur le cloisonnement.")
            await cecile.get_by_role("button", name="Je participe").click()
            await anna.get_by_role("button", name="Je participe").click()
            for page in (anna, cecile):
                await expect(page.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            synthese = await editor_text(anna, "synthese")
            await wait_text(cecile, "synthese", lambda t: t == synthese)
            participants = await wait_text(anna, "participants", lambda t: t.count("\n") == 2)

            # The organiser's dashboard shows who is there and that the sheet is being written.
            await org.goto(f"{base}/events/{slug}")
            row = org.locator("tr", has=org.get_by_role("link", name="Atelier 1 - Emergence - Session 1"))
            await expect(row).to_contain_text("En cours d'écriture", timeout=10_000)
            await expect(row).to_contain_text("Anna Szeremeta", timeout=10_000)
            await check_axe(org, "dashboard")
            # The last edit's time is the room's clock, not the browser's.
            edited = row.locator(".edited-cell time")
            await expect(edited).to_have_text(re.compile(r"\d\d:\d\d:\d\d"), timeout=10_000)
            stamp = datetime.fromisoformat((await edited.get_attribute("datetime")).replace("Z", "+00:00"))
            assert (await edited.inner_text()) == stamp.astimezone(ZoneInfo("Indian/Reunion")).strftime("%H:%M:%S")

            # The porteur publishes.
            _, sophie = await new_page(browser, errors)
            await sophie.goto(porteur_links["Emergence"])
            await expect(sophie.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            await sophie.get_by_role("button", name="Publier", exact=True).click()
            await expect(sophie.locator(".flash.info")).to_contain_text("Version 1 publiée")
            await check_axe(sophie, "sheet (porteur)")
            await expect(row).to_contain_text("Publiée (v1)", timeout=10_000)
            await org.screenshot(path=artifact("dashboard.png"), full_page=True)

            # Writing goes on; an anonymous visitor reads the published version.
            await type_in(anna, "Question", "Comment embarquer les dirigeants ?")
            _, visitor = await new_page(browser, errors)
            await visitor.goto(f"{base}/events/{slug}")
            await check_axe(visitor, "public event")
            await visitor.get_by_role("link", name="Atelier 1 - Emergence - Session 1").click()
            await expect(visitor.get_by_role("heading", level=1)).to_have_text("Atelier 1 - Emergence - Session 1")
            article = visitor.locator("article")
            # What both typed at once, as it stood when published (typed at the
            # same spot at the same instant, the two may interleave).
            await expect(article).to_contain_text(synthese.strip())
            await expect(article).to_contain_text("Vigilance sur le cloisonnement.")
            await expect(article).not_to_contain_text("Comment embarquer les dirigeants ?")
            await check_axe(visitor, "published version")
            await visitor.screenshot(path=artifact("published-sheet.png"), full_page=True)

            # The organiser downloads the proceedings.
            await org.goto(f"{base}/events/{slug}/manage")
            async with org.expect_download() as info:
                await org.locator("#export li").first.get_by_role("link", name="un fichier markdown").click()
            download = await info.value
            exported = open(await download.path(), encoding="utf-8").read()
            assert exported.startswith("# Forum de l'innovation publique 2026\n\nLyon\n\n## Sommaire\n\n"
                                       "- Session 1 — 10h-11h30\n")
            assert "## Atelier 1 - Emergence - Session 1" in exported
            assert "## Atelier 1 - Commande publique - Session 2" in exported
            assert synthese.strip() in exported
            assert "### Participants\n\n" + "\n".join(f"- {n}" for n in participants.split("\n") if n) in exported
            assert "Comment embarquer les dirigeants ?" in exported  # the current draft
            assert exported == live.get(f"/api/events/{slug}/export.md",
                                        token=organiser_link.rsplit("/", 1)[1]).text
            await browser.close()
        assert [e for e in errors if "favicon" not in e] == []
        assert len(PAGES_CHECKED) >= 8

    asyncio.run(scenario())


def test_join_and_write_with_the_keyboard_alone(live):
    room = live.new_atelier()

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            page = await browser.new_page(locale="fr-FR")
            await page.goto(f"{live.base_url}/join")
            await page.keyboard.press("Tab")  # brand
            while await page.evaluate("document.activeElement.id") != "code":
                await page.keyboard.press("Tab")
            await page.keyboard.type(room["join_code"])
            await page.keyboard.press("Tab")
            await page.keyboard.type("Jérémy Montagny")
            await page.keyboard.press("Enter")
            await page.wait_for_url(re.compile(r"/events/"))
            # Tab to the atelier's link and open it.
            for _ in range(30):
                await page.keyboard.press("Tab")
                if (await page.evaluate("document.activeElement.textContent")).startswith("Atelier 2 - Emergence"):
                    break
            await page.keyboard.press("Enter")
            await expect(page.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            # Tab into the Question editor and write.
            for _ in range(10):
                await page.keyboard.press("Tab")
                if await page.evaluate("document.activeElement.getAttribute('aria-labelledby')") == "title-question":
                    break
            await page.keyboard.type("Écrit au clavier seul.")
            await expect(page.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            fields = live.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]
            assert fields["question"] == "Écrit au clavier seul."
            await browser.close()

    asyncio.run(scenario())


def test_other_pages_have_no_accessibility_violations(live):
    """Pages the story does not visit: a participant's event page in open space,
    the atelier form, an import report, a member's view of a version, English."""
    room = live.new_atelier()
    org = room["organiser"]
    live.post(f"/api/events/{room['slug']}/sessions", {"label": "Session 2"}, token=org)
    live.patch(f"/api/events/{room['slug']}", {"open_space": True, "current_session": "Session 1"}, org)

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)

            async def signed_in(token, locale="fr-FR"):
                page = await browser.new_page(locale=locale)
                await page.goto(f"{live.base_url}/t/{token}")
                return page

            participant = await signed_in(room["participant"])
            await expect(participant.get_by_role("heading", name="Proposer un atelier")).to_be_visible()
            await check_axe(participant, "participant event page")
            porteur = await signed_in(room["porteur"])
            await porteur.goto(f"{live.base_url}/ateliers/{room['id']}/edit")
            await check_axe(porteur, "atelier form")
            await porteur.goto(f"{live.base_url}/ateliers/{room['id']}")
            await porteur.get_by_role("textbox", name="Synthèse", exact=True).click()
            await porteur.keyboard.type("Texte publié.")
            await expect(porteur.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            await porteur.get_by_role("button", name="Publier", exact=True).click()
            await porteur.get_by_role("link", name="Version 1").click()
            await expect(porteur.get_by_role("link", name="fiche en cours d'écriture")).to_be_visible()
            await check_axe(porteur, "version (member)")
            organiser = await signed_in(org, locale="en-GB")
            await organiser.goto(f"{live.base_url}/events/{room['slug']}/manage?lang=en")
            await check_axe(organiser, "manage (English)")
            await organiser.get_by_label("or pasted markdown").fill("# Atelier 6 - Collé\n\n## Synthèse\n\nS.\n\nnot a sheet")
            await organiser.get_by_role("button", name="Import", exact=True).click()
            await expect(organiser.get_by_role("heading", name="Sheets created (1)")).to_be_visible()
            await check_axe(organiser, "import report")
            await browser.close()

    asyncio.run(scenario())


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> [clic](javascript:alert(2)) \u202eàl\u200b 😀'


def test_hostile_text_never_executes(live):
    """Script tags, javascript: links, right-to-left and zero-width marks in every
    field: shown as text on every page, never run."""
    event = live.post("/api/events", {"title": "Forum " + HOSTILE, "description": HOSTILE, "place": HOSTILE})
    org = event["organiser_token"]
    live.patch(f"/api/events/{event['slug']}", {"open_space": True}, org)
    atelier = live.post(f"/api/events/{event['slug']}/ateliers",
                        {"title": HOSTILE, "session": "S " + HOSTILE, "porteur": HOSTILE, "question": HOSTILE},
                        token=org)
    person = live.post(f"/api/events/{event['slug']}/participants",
                       {"join_code": event["join_code"], "name": HOSTILE[:150]})
    from tests.ysocket import YClient

    writer = YClient(live.base_url, atelier["id"], person["token"]).connect()
    for key in ("synthese", "discussion", "participants"):
        writer.append(key, HOSTILE + "\n" + "ligne très longue " * 300)
    writer.wait_saved()
    writer.disconnect()
    live.post(f"/api/ateliers/{atelier['id']}/publish", {}, token=atelier["porteur_token"])

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            dialogs = []
            visits = [
                (org, [f"/events/{event['slug']}", f"/events/{event['slug']}/manage", f"/events/{event['slug']}/qr",
                       f"/ateliers/{atelier['id']}", f"/ateliers/{atelier['id']}/edit"]),
                (person["token"], [f"/events/{event['slug']}", f"/ateliers/{atelier['id']}"]),
                (None, [f"/events/{event['slug']}", f"/ateliers/{atelier['id']}",
                        f"/ateliers/{atelier['id']}/versions/1"]),
            ]
            for token, paths in visits:
                context = await browser.new_context(locale="fr-FR")
                page = await context.new_page()
                page.on("dialog", lambda d: (dialogs.append(d.message), asyncio.ensure_future(d.dismiss())))
                if token:
                    await page.goto(f"{live.base_url}/t/{token}")
                for path in paths:
                    await page.goto(live.base_url + path)
                    await page.wait_for_load_state("networkidle")
                    assert await page.locator("script:not([src]):not([type='application/json'])").count() == 0
                    assert await page.locator("a[href^='javascript:' i], img[src='x']").count() == 0, path
                    assert '<script>alert("x")</script>' in await page.locator("main").inner_text(), path
                await context.close()
            assert dialogs == []
            await browser.close()

    asyncio.run(scenario())


def test_the_organiser_withdraws_a_vandals_access(live):
    """Someone damages a sheet: the organiser withdraws their access from the
    manage page; their open page stops and says so, the porteur writes on."""
    room = live.new_atelier()

    async def scenario():
        errors = []
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            _, vandal = await new_page(browser, errors)
            await vandal.goto(f"{live.base_url}/t/{room['participant']}")
            await vandal.goto(f"{live.base_url}/ateliers/{room['id']}")
            await expect(vandal.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            await vandal.get_by_role("textbox", name="Synthèse", exact=True).click()
            await vandal.keyboard.type("n'importe quoi")
            await expect(vandal.locator("#status")).to_have_text("Enregistré", timeout=10_000)

            _, organiser = await new_page(browser, errors)
            await organiser.goto(f"{live.base_url}/t/{room['organiser']}")
            await organiser.goto(f"{live.base_url}/events/{room['slug']}/manage")
            members = organiser.locator("#members")
            await expect(members.get_by_role("row", name="Organisation")).to_contain_text("votre accès")
            await members.get_by_role("button", name="Retirer l'accès Anna Szeremeta").click()
            # First it says what will happen, with the focus on that question.
            question = organiser.get_by_role("heading", name="Retirer l'accès de « Anna Szeremeta » ?")
            await expect(question).to_be_focused()
            await check_axe(organiser, "confirmation")
            await organiser.get_by_role("button", name="Retirer l'accès").click()
            await expect(organiser.get_by_text("L'accès de « Anna Szeremeta » est retiré")).to_be_visible()
            await expect(members.get_by_role("row", name="Anna Szeremeta")).to_contain_text("retiré")
            await check_axe(organiser, "manage, access withdrawn")

            await expect(vandal.locator("#status")).to_have_text(
                "L'organisation a retiré votre accès à cet événement.", timeout=10_000)
            await vandal.screenshot(path=artifact("access-withdrawn.png"))
            await expect(vandal.get_by_role("textbox", name="Synthèse", exact=True)).to_have_attribute(
                "aria-readonly", "true")
            # Reloading does not bring the access back.
            await vandal.goto(f"{live.base_url}/ateliers/{room['id']}")
            await expect(vandal.get_by_role("textbox", name="Synthèse", exact=True)).to_have_count(0)
            await browser.close()
        assert [e for e in errors if "403" not in e and "401" not in e] == []

    asyncio.run(scenario())
