"""Time to a usable sheet on a slow venue connection: 1 Mbps, 300 ms of latency.

A porteur opens the sheet page in Debian's chromium (Playwright, the
network throttled over the DevTools protocol, a cold cache each time) until
the editor takes text and the status line says it is connected. Prints the
time and the bytes on the wire, per resource type.

    .venv/bin/python bench/page_load.py [--rounds 3] [--code DIR]

``--code DIR`` serves another checkout's code (e.g. a git worktree of an
earlier commit, with its front end built), to measure before and after.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("SYNTHESE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
#: 1 Mbps down and up, 300 ms round trips: a venue's Wi-Fi at its worst.
THROTTLE = {"offline": False, "latency": 300, "downloadThroughput": 1_000_000 / 8, "uploadThroughput": 1_000_000 / 8}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(code: Path, workdir: Path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(code), "SYNTHESE_DATABASE_URL": f"sqlite:///{workdir / 'load.db'}",
           "SYNTHESE_SECRET_KEY": "bench", "SYNTHESE_RATE_LIMITS": "off"}
    proc = subprocess.Popen([str(ROOT / ".venv/bin/synthese"), "serve", "--port", str(port), "--no-demo"],
                            env=env, cwd=code, stdout=subprocess.DEVNULL, stderr=open(workdir / "server.log", "w"))
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            requests.get(url + "/healthz", timeout=1)
            return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def porteur_link(url: str) -> str:
    event = requests.post(url + "/api/events", json={"title": "Forum", "sessions": [{"label": "Session 1"}]}).json()
    atelier = requests.post(f"{url}/api/events/{event['slug']}/ateliers",
                            json={"title": "Emergence", "session": "Session 1", "porteur": "Sophie"},
                            headers={"Authorization": f"Bearer {event['organiser_token']}"}).json()
    return atelier["porteur_url"]


def load_once(browser, link: str) -> tuple[float, dict]:
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", THROTTLE)
    kinds, wire = {}, {}
    cdp.on("Network.responseReceived", lambda e: kinds.__setitem__(e["requestId"], e["type"]))
    cdp.on("Network.loadingFinished",
           lambda e: wire.__setitem__(e["requestId"], e["encodedDataLength"]))
    started = time.perf_counter()
    page.goto(link, wait_until="commit")
    page.wait_for_selector('.cm-content[contenteditable="true"]', timeout=120_000)
    # Polled from here: the page's CSP forbids evaluating strings in it.
    status = page.get_by_role("status")
    while (status.text_content() or "").strip() not in ("Connecté", "Enregistré"):
        if time.perf_counter() - started > 120:
            raise TimeoutError(f"the sheet never said it was connected: {status.text_content()!r}")
        time.sleep(0.02)
    usable = time.perf_counter() - started
    by_kind = {}
    for request_id, size in wire.items():
        kind = kinds.get(request_id, "Other")
        by_kind[kind] = by_kind.get(kind, 0) + size
    context.close()
    return usable, by_kind


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose code is served")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="synthese-page-load-"))
    proc, url = serve(args.code.resolve(), workdir)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            times, sizes = [], []
            for _ in range(args.rounds):
                usable, by_kind = load_once(browser, porteur_link(url))
                times.append(usable)
                sizes.append(by_kind)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"code: {args.code}")
    print(f"time to a usable sheet at 1 Mbps / 300 ms: median {statistics.median(times):.2f} s "
          f"(rounds: {', '.join(f'{t:.2f}' for t in times)})")
    last = sizes[-1]
    print("bytes on the wire, last round: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in sorted(last.items()))
          + f"; total {sum(last.values()) / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
