"""The front end's built files, as browsers on venue Wi-Fi should get them.

esbuild gives each bundle a content-hashed name (its metafile,
build/assets.json, maps each entry to it: scripts/bootstrap.sh builds
them) and WhiteNoise serves static/ ahead of the app: a hashed file
gzipped when the browser takes it, and cached for a year (immutable: a new
build has new names); the other files (the favicon) for an hour. No source
map is built.
"""
import json
import logging
import re
from pathlib import Path

from flask import url_for
from whitenoise import WhiteNoise

log = logging.getLogger(__name__)

#: esbuild's [hash]: 8 characters of A-Z and 0-9.
HASHED = re.compile(r"-[A-Z0-9]{8}\.\w+$")


def manifest(root: Path) -> dict[str, str]:
    """Entry file name (sheet.js) -> its built file, relative to static/ (dist/sheet-2AJQ2773.js)."""
    path = root / "build" / "assets.json"
    try:
        outputs = json.loads(path.read_text())["outputs"]
    except (OSError, ValueError, KeyError):
        log.error("%s is missing or unreadable: run scripts/bootstrap.sh to build the front end", path)
        return {}
    found = {}
    for output, info in outputs.items():
        if info.get("entryPoint"):
            found[Path(info["entryPoint"]).name] = output.removeprefix("static/")
    return found


def init_app(app, root: Path) -> None:
    built = manifest(root)

    def asset(name: str) -> str:
        return url_for("static", filename=built.get(name, f"dist/{name}"))

    app.jinja_env.globals["asset"] = asset
    # Outermost: static files never reach Flask, nor the socket middleware.
    app.wsgi_app = WhiteNoise(
        app.wsgi_app, root=app.static_folder, prefix="static/", max_age=3600,
        immutable_file_test=lambda path, url: bool(HASHED.search(url)),
        add_headers_function=_headers,
    )


def _headers(headers, path: str, url: str) -> None:
    headers["X-Content-Type-Options"] = "nosniff"
