"""Rate limits: per code and token first, per IP as a backstop; wrong guesses
are refused past their limit, a right code or a valid token never (a venue's
people share one address: one person's failures must not lock out the rest)."""
import uuid

import pytest

from synthese.web import ratelimit
from tests.conftest import need, port_open

LIMITS = "event_create_ip=2/600,join_ip=5/60,join_code=8/60,bad_code_ip=3/600,bad_token_ip=2/60"


@pytest.fixture
def limited(app):
    app.config["SYNTHESE_RATE_LIMITS"] = LIMITS
    ratelimit.init_app(app)
    return app


def from_ip(ip):
    return {"environ_base": {"REMOTE_ADDR": ip}}


def test_a_venue_joins_until_the_backstop_and_the_code_limit(limited, client):
    event = client.post("/api/events", json={"title": "Forum"}).json
    url = f"/api/events/{event['slug']}/participants"
    body = {"join_code": event["join_code"], "name": "Anna"}
    assert [client.post(url, json=body, **from_ip("10.0.0.1")).status_code for _ in range(6)] == [201] * 5 + [429]
    refused = client.post(url, json=body, **from_ip("10.0.0.1"))
    assert refused.json["error"]["code"] == "rate_limited" and int(refused.headers["Retry-After"]) > 0
    # Another address still gets in, until the code's own limit (8 a minute here).
    assert [client.post(url, json=body, **from_ip("10.0.0.2")).status_code for _ in range(4)] == [201] * 3 + [429]


def test_wrong_codes_are_refused_past_their_limit_and_a_right_code_never(limited, client):
    """50 wrong codes typed from a venue's one NAT address locked everyone
    there out for 10 minutes."""
    event = client.post("/api/events", json={"title": "Forum"}).json
    url = f"/api/events/{event['slug']}/participants"
    wrong = {"join_code": "AAA-AAA", "name": "Mallory"}
    assert [client.post(url, json=wrong).status_code for _ in range(4)] == [403] * 3 + [429]
    right = {"join_code": event["join_code"], "name": "Anna"}
    assert client.post(url, json=right).status_code == 201


def test_junk_tokens_are_refused_past_their_limit_and_a_valid_token_never(limited, client):
    """300 junk tokens from one address blocked every valid token there for a minute."""
    event = client.post("/api/events", json={"title": "Forum"}).json
    url = f"/api/events/{event['slug']}/dashboard"
    bad = {"Authorization": "Bearer " + "x" * 43}
    assert [client.get(url, headers=bad).status_code for _ in range(3)] == [401, 401, 429]
    assert client.get("/t/" + "y" * 43).status_code == 429  # the sign-in links count too
    good = {"Authorization": f"Bearer {event['organiser_token']}"}
    assert client.get(url, headers=good).status_code == 200


def test_creating_events(limited, client):
    codes = [client.post("/api/events", json={"title": "Forum"}).status_code for _ in range(3)]
    assert codes == [201, 201, 429]


def test_limits_can_be_switched_off(app, client):
    app.config["SYNTHESE_RATE_LIMITS"] = "off"
    ratelimit.init_app(app)
    assert {client.post("/api/events", json={"title": "F"}).status_code for _ in range(40)} == {201}


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        ratelimit.rules_from("nope=1/2")


def test_processes_share_their_counts_through_redis():
    need("redis", port_open("127.0.0.1", 6379), "nothing listens on 127.0.0.1:6379")
    rules = ratelimit.rules_from("join_code=3/60")
    first = ratelimit.Limiter(rules, "redis://127.0.0.1:6379/0")
    second = ratelimit.Limiter(rules, "redis://127.0.0.1:6379/0")
    key = uuid.uuid4().hex
    first.hit("join_code", key)
    second.hit("join_code", key)
    first.hit("join_code", key)
    with pytest.raises(ratelimit.RateLimited):
        second.hit("join_code", key)


def test_limits_hold_in_this_process_while_redis_is_away():
    """Redis away: counted here rather than not at all, and nobody gets a 500."""
    rules = ratelimit.rules_from("join_code=2/60")
    limiter = ratelimit.Limiter(rules, "redis://127.0.0.1:1/0")  # nothing listens there
    limiter.hit("join_code", "forum")
    limiter.hit("join_code", "forum")
    with pytest.raises(ratelimit.RateLimited) as refused:
        limiter.hit("join_code", "forum")
    assert 0 < refused.value.retry_after <= 60


def test_photos_are_counted_per_token(app, client):
    import io

    from tests.unit.test_photos import jpeg_with_metadata

    app.config["SYNTHESE_RATE_LIMITS"] = "photo_token=2/3600"
    ratelimit.init_app(app)
    event = client.post("/api/events", json={"title": "Forum"}).json
    organiser = {"Authorization": f"Bearer {event['organiser_token']}"}
    atelier = client.post(f"/api/events/{event['slug']}/ateliers", json={"title": "Emergence"}, headers=organiser).json
    anna = client.post(f"/api/events/{event['slug']}/participants",
                       json={"join_code": event["join_code"], "name": "Anna"}).json
    photo = jpeg_with_metadata(200, 100)

    def send(token):
        return client.post(f"/api/ateliers/{atelier['id']}/photos", data={"photo": (io.BytesIO(photo), "a.jpg")},
                           headers={"Authorization": f"Bearer {token}"}, content_type="multipart/form-data")

    assert [send(anna["token"]).status_code for _ in range(3)] == [201, 201, 429]
    assert send(event["organiser_token"]).status_code == 201  # another token, its own count
