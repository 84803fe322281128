"""Real-browser fixtures: Debian's chromium driven by Playwright."""
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT, need

CHROMIUM = os.environ.get("SYNTHESE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"

LAUNCH = dict(
    executable_path=CHROMIUM,
    headless=True,
    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--no-first-run", "--disable-sync"],
)


@pytest.fixture(autouse=True)
def chromium_available():
    need("chromium", Path(CHROMIUM).exists(), f"no browser at {CHROMIUM} (apt-get install chromium)")
    need("chromium", AXE.exists(), "axe-core missing (run scripts/bootstrap.sh)")


def link(live, token: str) -> str:
    """A secret link of the live server: opened, it signs the browser in."""
    return f"{live.base_url}/t/{token}"


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


async def axe_violations(page) -> list:
    """Run axe-core in the page (evaluated over the DevTools protocol, so CSP does not apply)."""
    await page.evaluate(AXE.read_text() + "\n;0")
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["html"][:120] for n in v["nodes"]]}
        for v in result["violations"]
    ]
