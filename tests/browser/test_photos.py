"""A photo of the boards taken on a phone: sent from the sheet page, seen at
once by the others in the room and on the wall, its metadata gone."""
import asyncio
import io

import requests
from PIL import Image
from playwright.async_api import async_playwright, expect

from tests.browser.conftest import LAUNCH, artifact, axe_violations, link
from tests.browser.test_sheet_page import open_sheet
from tests.unit.test_photos import jpeg_with_metadata

PHONE = {"width": 390, "height": 844}


def test_a_photo_taken_on_a_phone_reaches_the_room_and_the_wall(live, tmp_path):
    room = live.new_atelier(porteur="Sophie Largeau")
    photo = tmp_path / "IMG_2041.jpg"
    photo.write_bytes(jpeg_with_metadata(4000, 3000))  # a phone's 12 MP, GPS and camera in its EXIF

    async def scenario():
        async with async_playwright() as p:
            browser = await p.chromium.launch(**LAUNCH)
            phone = await browser.new_context(locale="fr-FR", viewport=PHONE, is_mobile=True, has_touch=True)
            anna = await phone.new_page()
            await anna.goto(link(live, room["participant"]))
            await anna.goto(f"{live.base_url}/ateliers/{room['id']}")
            await expect(anna.locator("#status")).to_have_text("Enregistré", timeout=10_000)
            _ctx, sophie, _errors = await open_sheet(browser, link(live, room["porteur"]), room["id"], live.base_url)
            wall_context = await browser.new_context(locale="fr-FR", viewport={"width": 1920, "height": 1080})
            wall = await wall_context.new_page()
            await wall.goto(link(live, room["organiser"]))
            await wall.goto(f"{live.base_url}/ateliers/{room['id']}/wall")
            await expect(wall.locator("#status")).to_have_text("Connecté", timeout=10_000)  # it writes nothing
            await expect(wall.locator("#photos")).to_be_hidden()

            sent = []
            anna.on("request", lambda r: sent.append(len(r.post_data_buffer or b"")) if r.method == "POST"
                    and r.url.endswith("/photos") else None)
            await anna.get_by_label("Prendre ou choisir une photo").set_input_files(str(photo))
            await anna.get_by_label("Ce qu'elle montre (lu à qui ne la voit pas)").fill("Le mur de post-its")
            await anna.get_by_role("button", name="Ajouter la photo").click()
            await expect(anna.locator("#photo-status")).to_have_text("Photo ajoutée.", timeout=15_000)
            await expect(anna.get_by_role("img", name="Le mur de post-its")).to_be_visible()
            # Made smaller in the phone before it left (12 MP -> at most 2400 px).
            assert sent and sent[0] < photo.stat().st_size
            # The porteur's page and the wall show it at once.
            await expect(sophie.get_by_role("img", name="Le mur de post-its")).to_be_visible(timeout=5_000)
            await expect(wall.get_by_role("img", name="Le mur de post-its")).to_be_visible(timeout=5_000)
            await anna.locator("#photos").scroll_into_view_if_needed()
            await anna.screenshot(path=artifact("photo-phone.png"))
            await wall.screenshot(path=artifact("photo-wall-1920x1080.png"))
            assert await axe_violations(anna) == []
            assert await anna.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

            # What the server keeps: a JPEG of at most 2000 px, without any metadata.
            src = await anna.get_by_role("img", name="Le mur de post-its").get_attribute("src")
            stored = requests.get(live.base_url + src, headers={"Authorization": f"Bearer {room['organiser']}"},
                                  timeout=10)
            image = Image.open(io.BytesIO(stored.content))
            assert image.format == "JPEG" and max(image.size) <= 2000 and not image.getexif()
            assert b"PhoneMaker" not in stored.content
            await browser.close()

    asyncio.run(scenario())
