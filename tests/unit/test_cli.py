"""The ``synthese`` command: export and import, run as an organiser would."""
import io
import os
import subprocess
import zipfile

import pytest

from tests.conftest import ROOT, SYNTHESE, sheet_update


@pytest.fixture
def forum(app, make_atelier):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("the CLI is run once, on SQLite")
    from synthese.documents import Pending, current_store

    atelier, _, _ = make_atelier(title="Emergence", session="Session 1", number=2, porteur="Sophie")
    current_store().append([Pending(atelier.id, sheet_update(synthese="Une synthèse 😀"))])
    env = {**os.environ, "SYNTHESE_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "SYNTHESE_SECRET_KEY": "cli-test"}
    return atelier.event, env


def run(env, *args):
    return subprocess.run([SYNTHESE, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_export_and_import_from_the_shell(forum, tmp_path, make_event):
    event, env = forum
    done = run(env, "export", event.slug)
    assert done.returncode == 0, done.stderr
    assert "## Atelier 2 - Emergence - Session 1" in done.stdout and "Une synthèse 😀" in done.stdout
    assert run(env, "export", event.slug, "--published").stdout == f"# {event.title}\n"
    archive = tmp_path / "actes.zip"
    assert run(env, "export", event.slug, "--zip", "-o", str(archive)).returncode == 0
    assert zipfile.ZipFile(io.BytesIO(archive.read_bytes())).namelist() == ["001-atelier-2-emergence.md"]
    copy = make_event("Copie").obj
    imported = run(env, "import", copy.slug, str(archive))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == "created: atelier 2 - Emergence (Session 1)\n"
    assert run(env, "export", copy.slug).stdout.split("\n", 1)[1] == done.stdout.split("\n", 1)[1]
    nothing = tmp_path / "rien.md"
    nothing.write_text("pas de fiche")
    refused = run(env, "import", copy.slug, str(nothing))
    assert refused.returncode == 1 and "No sheet found" in refused.stderr
    assert run(env, "export", "inconnu").returncode == 1


def test_the_proceedings_from_the_shell(forum, tmp_path):
    event, env = forum
    by_name = tmp_path / "actes.pdf"
    done = run(env, "export", event.slug, "-o", str(by_name))  # the format from the file's name
    assert done.returncode == 0, done.stderr
    assert by_name.read_bytes().startswith(b"%PDF")
    named = tmp_path / "actes-sans-extension"
    assert run(env, "export", event.slug, "--format", "docx", "-o", str(named)).returncode == 0
    assert named.read_bytes().startswith(b"PK")
    refused = run(env, "export", event.slug, "--format", "pdf")
    assert refused.returncode == 2 and "needs -o FILE" in refused.stderr


def test_flask_runs_the_same_commands(forum):
    """One command group: ``flask --app synthese export`` is ``synthese export``."""
    event, env = forum
    flask = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "synthese", "export", event.slug], env=env,
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert flask.returncode == 0, flask.stderr
    assert flask.stdout == run(env, "export", event.slug).stdout
