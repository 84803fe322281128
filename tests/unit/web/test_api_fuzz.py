"""Fuzzing the HTTP API against its own OpenAPI document (schemathesis):
whatever the body, query or headers, no operation answers with a server error.

Path parameters point at a real event and atelier, and requests carry the
organiser's token, so that generated input reaches the code behind the
permission checks rather than stopping at 404 or 401.
"""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import sheet_update


@pytest.fixture
def api_schema(tmp_path):
    """The app on a fresh SQLite database (fuzzed once: PostgreSQL runs the other API tests)."""
    from flask_migrate import upgrade

    from synthese import ateliers, create_app, events
    from synthese.access import OPERATOR
    from synthese.documents import Pending, current_store
    from synthese.extensions import db

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fuzz.db'}",
                      "SECRET_KEY": "fuzz", "SYNTHESE_DEMO": False, "SERVER_NAME": "synthese.test",
                      "SYNTHESE_RATE_LIMITS": "off"})
    with app.app_context():
        upgrade()
        created = events.create_event(OPERATOR, "Forum", sessions=[{"label": "Session 1"}])
        atelier = ateliers.create_atelier(OPERATOR, created.obj, "Emergence", session="Session 1", porteur="Sophie").obj
        current_store().append([Pending(atelier.id, sheet_update(synthese="Texte à publier."))])
        target = {"slug": created.obj.slug, "atelier_id": atelier.id, "token": created.token}
        db.session.remove()
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    schema.fuzz_target = target
    yield schema
    with app.app_context():
        db.engine.dispose()


def test_no_server_error(api_schema):
    # One hypothesis run per operation, inside one test (schemathesis's pytest
    # fixture integration does not work with pytest 9).
    target = api_schema.fuzz_target
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    calls = []

    for operation in operations:
        # Each document export spawns a converter (a PDF, a second): their
        # query is export.md's, fuzzed in full there.
        examples = 3 if operation.path.endswith((".pdf", ".odt", ".docx")) else 15

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def fuzz(case):
            calls.append(operation.label)
            if "slug" in (case.path_parameters or {}):
                case.path_parameters["slug"] = target["slug"]
            if "atelier_id" in (case.path_parameters or {}):
                case.path_parameters["atelier_id"] = target["atelier_id"]
            case.call_and_validate(headers={"Authorization": f"Bearer {target['token']}"},
                                   checks=[not_a_server_error])

        fuzz()
    assert len(set(calls)) == len(operations)  # every operation was called
