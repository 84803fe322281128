"""The production setup of docs/production.md, as documented: two processes on
PostgreSQL and Redis behind nginx with docs/production/nginx.conf."""
import getpass
import os
import shlex
import shutil
import signal
import subprocess

import psutil
import pytest
import requests
import websocket

from tests.conftest import ROOT, free_port, need, port_open, processes
from tests.live.test_services import RedisServer
from tests.ysocket import YClient, wait_until

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_config(tmp_path, listen_port: int, upstream_ports: list[int]) -> str:
    """docs/production/nginx.conf with this test's ports, in a minimal main configuration."""
    site = (ROOT / "docs/production/nginx.conf").read_text()
    site = (site.replace("127.0.0.1:5001", f"127.0.0.1:{upstream_ports[0]}")
                .replace("127.0.0.1:5002", f"127.0.0.1:{upstream_ports[1]}")
                .replace("listen 80;", f"listen 127.0.0.1:{listen_port};"))
    assert str(listen_port) in site and str(upstream_ports[1]) in site
    temp = tmp_path / "nginx-temp"
    temp.mkdir()
    return f"""
daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{site}
}}
"""


@pytest.fixture
def behind_nginx(tmp_path, postgres_url):
    need("nginx", shutil.which("nginx") is not None or ROOT.joinpath(NGINX).exists(),
         "no nginx (apt-get install nginx-light)")
    # A Redis of its own: rate-limit counters must start at zero.
    redis = RedisServer(tmp_path).start()
    env = {"SYNTHESE_REDIS_URL": redis.url, "SYNTHESE_PROXIES": "1", "SYNTHESE_RATE_LIMITS": "join_ip=3/60"}
    try:
        with processes(tmp_path, database_url=postgres_url, **env) as servers:
            port = free_port()
            conf = tmp_path / "nginx.conf"
            conf.write_text(nginx_config(tmp_path, port, [s.port for s in servers]))
            nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                wait_until(lambda: port_open("127.0.0.1", port), message="nginx up")
                yield f"http://127.0.0.1:{port}", servers
            finally:
                nginx.terminate()
                nginx.wait(10)
    finally:
        redis.kill()


def test_two_processes_behind_nginx(behind_nginx):
    base, servers = behind_nginx
    event = requests.post(f"{base}/api/events", json={"title": "Forum régional"}).json()
    org = {"Authorization": f"Bearer {event['organiser_token']}"}
    assert event["organiser_url"].startswith(base + "/t/")  # links use the public address
    atelier = requests.post(f"{base}/api/events/{event['slug']}/ateliers", json={"title": "Tiers-lieux"},
                            headers=org).json()
    people = []
    for name, spoofed in [("Anna", "1.2.3.4"), ("Cécile", "5.6.7.8"), ("Jérémy", "9.9.9.9")]:
        joined = requests.post(f"{base}/api/events/{event['slug']}/participants",
                               json={"join_code": event["join_code"], "name": name},
                               headers={"X-Forwarded-For": spoofed})
        assert joined.status_code == 201
        people.append(joined.json())
    # A forged X-Forwarded-For does not make a new address: nginx's own entry counts.
    fourth = requests.post(f"{base}/api/events/{event['slug']}/participants",
                           json={"join_code": event["join_code"], "name": "Mallory"},
                           headers={"X-Forwarded-For": "10.10.10.10"})
    assert fourth.status_code == 429

    # Sign-in link through nginx.
    browser = requests.Session()
    page = browser.get(people[0]["url"])
    assert page.status_code == 200 and page.url.endswith(f"/events/{event['slug']}")

    # Without the sheet page's room cookie, nginx spreads the sockets over
    # both processes; edits reach everyone.
    before = upstream_connections(servers)
    clients = [YClient(base, atelier["id"], p["token"], p["name"]).connect() for p in people]
    opened = {port for port, _ in upstream_connections(servers) - before}
    assert opened == {server.port for server in servers}, opened
    for i, client in enumerate(clients):
        client.append("discussion", f"idée {i}. ")
    for client in clients:
        client.wait_saved()
    stored = requests.get(f"{base}/api/ateliers/{atelier['id']}", headers=org).json()["fields"]
    for client in clients:
        wait_until(lambda c=client: c.fields() == stored, message=f"{client.name} converged")
    assert all(f"idée {i}." in stored["discussion"] for i in range(3))

    # The origin check sees the public address.
    ws_url = base.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    ws = websocket.create_connection(ws_url, origin=base, timeout=5)
    assert ws.recv().startswith("0{")
    ws.close()
    for client in clients:
        client.disconnect()


def upstream_connections(servers) -> set:
    """nginx's open connections to each process: (process port, nginx's local port)."""
    ports = {server.port for server in servers}
    return {(c.raddr.port, c.laddr.port) for c in psutil.net_connections("tcp")
            if c.status == "ESTABLISHED" and c.raddr and c.raddr.port in ports}


def test_an_ateliers_sockets_are_placed_on_one_process(behind_nginx):
    """The sheet page's cookie (synthese_room) makes nginx put a room's
    sockets on one process, which then alone listens to that room."""
    base, servers = behind_nginx
    event = requests.post(f"{base}/api/events", json={"title": "Forum régional"}).json()
    org = {"Authorization": f"Bearer {event['organiser_token']}"}
    rooms = [requests.post(f"{base}/api/events/{event['slug']}/ateliers", json={"title": f"Atelier {n}"},
                           headers=org).json() for n in range(4)]
    for room in rooms:
        before = upstream_connections(servers)
        cookie = {"Cookie": f"synthese_room={room['id']}"}
        clients = [YClient(base, room["id"], event["organiser_token"], f"p{i}").connect(headers=cookie)
                   for i in range(4)]
        opened = {port for port, _ in upstream_connections(servers) - before}
        assert len(opened) == 1, opened
        clients[0].append("discussion", "placés ensemble. ")
        for client in clients[1:]:
            wait_until(lambda c=client: "placés ensemble." in c.text("discussion"), message="relayed")
        for client in clients:
            client.disconnect()


def test_the_systemd_unit_as_far_as_no_systemd_allows(tmp_path):
    """docs/production/synthese@.service: systemd-analyze accepts it, and its
    ExecStart, run as written with an environment file, serves, then stops
    with exit status 0 on its KillSignal within its TimeoutStopSec.
    (The test machine runs no systemd to start it as a service.)"""
    need("systemd-analyze", shutil.which("systemd-analyze") is not None, "no systemd-analyze (Debian: systemd)")
    port = free_port()
    env_file = tmp_path / "synthese.env"
    env_file.write_text(f"SYNTHESE_DATABASE_URL=sqlite:///{tmp_path / 'unit.db'}\n"
                        "SYNTHESE_SECRET_KEY=unit-test-secret\nSYNTHESE_EVENT_CREATION=unit-test-key\n")
    unit = ((ROOT / "docs/production/synthese@.service").read_text()
            .replace("/srv/synthese", str(ROOT))
            .replace("User=synthese", f"User={getpass.getuser()}")
            .replace("/etc/synthese.env", str(env_file)))
    (tmp_path / "synthese@.service").write_text(unit)
    verified = subprocess.run(["systemd-analyze", "verify", "--man=no", str(tmp_path / f"synthese@{port}.service")],
                              capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0 and verified.stderr.strip() == "", verified.stderr

    service = dict(line.split("=", 1) for line in unit.split("[Service]")[1].split("[Install]")[0].splitlines()
                   if "=" in line and not line.startswith("#"))
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    log = open(tmp_path / "unit.log", "wb")
    proc = subprocess.Popen(shlex.split(service["ExecStart"].replace("%i", str(port))),
                            cwd=service["WorkingDirectory"], env={**os.environ, **env}, stdout=log, stderr=log)
    try:
        wait_until(lambda: port_open("127.0.0.1", port), timeout=30, message="the unit's process serves")
        created = requests.post(f"http://127.0.0.1:{port}/api/events", json={"title": "Forum"},
                                headers={"Authorization": "Bearer unit-test-key"})
        assert created.status_code == 201
        proc.send_signal(getattr(signal, service["KillSignal"]))
        assert proc.wait(float(service["TimeoutStopSec"])) == 0, (tmp_path / "unit.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
