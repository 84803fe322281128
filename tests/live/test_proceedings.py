"""The proceedings made by the running server: a long PDF never holds the
event loop, and too many at once are refused rather than queued without end."""
import threading
import time

import requests

from tests.conftest import LiveServer


def sheets_markdown(count: int) -> str:
    paragraph = ("Les participants proposent de tester une démarche d'aller-vers avec les agents d'accueil ; "
                 "ils insistent : sans moyens dédiés, rien ne tiendra ! ") * 6
    return "\n".join(
        f"# Atelier {n} - Thème {n} - Session 1\n\n## Question\n\nComment faire ?\n\n## Synthèse\n\n"
        + "\n\n".join([paragraph] * 5) + "\n\n## Participants\n\n- Anna\n- Cécile\n"
        for n in range(1, count + 1))


def test_a_long_pdf_does_not_hold_the_server(live):
    event = live.post("/api/events", {"title": "Forum de l'innovation publique", "place": "Lyon"})
    headers = {"Authorization": f"Bearer {event['organiser_token']}", "Content-Type": "text/markdown"}
    imported = requests.post(f"{live.base_url}/api/events/{event['slug']}/import", data=sheets_markdown(40).encode(),
                             headers=headers, timeout=30)
    assert imported.status_code == 201, imported.text
    result = {}

    def export():
        started = time.monotonic()
        result["response"] = requests.get(f"{live.base_url}/api/events/{event['slug']}/export.pdf",
                                          headers={"Authorization": headers["Authorization"]}, timeout=120)
        result["took"] = time.monotonic() - started

    worker = threading.Thread(target=export)
    worker.start()
    slowest = 0.0
    while worker.is_alive():
        started = time.monotonic()
        assert requests.get(f"{live.base_url}/healthz", timeout=10).ok
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.05)
    worker.join()
    response = result["response"]
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    # The PDF took seconds; the server answered meanwhile as if idle.
    print(f"PDF in {result['took']:.1f} s; slowest health check meanwhile {slowest * 1000:.0f} ms")
    assert result["took"] > 2 and slowest < 1.0, (result["took"], slowest)


def test_conversions_beyond_the_bound_are_refused(tmp_path):
    """Two slots per process by default (one here), waited for a while, then 503."""
    server = LiveServer(tmp_path, env={"SYNTHESE_CONVERSIONS": "1", "SYNTHESE_CONVERSION_WAIT": "0.5"}).start()
    try:
        event = server.post("/api/events", {"title": "Forum"})
        auth = {"Authorization": f"Bearer {event['organiser_token']}"}
        requests.post(f"{server.base_url}/api/events/{event['slug']}/import", data=sheets_markdown(30).encode(),
                      headers={**auth, "Content-Type": "text/markdown"}, timeout=30).raise_for_status()
        url = f"{server.base_url}/api/events/{event['slug']}/export.pdf"
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(requests.get(url, headers=auth, timeout=120)))
                   for _ in range(3)]
        for thread in threads:
            thread.start()
            time.sleep(0.2)
        for thread in threads:
            thread.join()
        codes = sorted(a.status_code for a in answers)
        assert codes[0] == 200 and 503 in codes, codes
        busy = next(a for a in answers if a.status_code == 503).json()["error"]
        assert busy["code"] == "unavailable" and "try again" in busy["message"]
    finally:
        server.stop()
