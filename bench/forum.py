"""Forum benchmark: 30 ateliers x 12 stock-protocol clients, against Synthèse,
the reference y-socket.io Node server and Hocuspocus (with its SQLite
extension, default settings), alternating, in one run.

Per atelier: 2 writers append a few characters every 400 ms, 9 lean readers,
1 full stock client that checks that everything arrived. A separate probe
process (one writer, one reader, a marker every 250 ms, in a room of its own)
measures edit-to-peer latency. Load and probe run in processes of their own.

    .venv/bin/python bench/forum.py [--rounds 2] [--duration 30] [--modes gevent]

Prints p50/p95/p99 latency, lost updates, rooms converged, server CPU and memory.
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "bench" / "js"
#: Several processes relay through this Redis (unless --redis no).
REDIS_URL = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


class Sampler(threading.Thread):
    """CPU and peak memory of one process while the load runs."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak_rss = 0
        self.running = True

    def run(self):
        self.cpu_start = self.proc.cpu_times()
        self.t_start = time.monotonic()
        while self.running:
            try:
                self.peak_rss = max(self.peak_rss, self.proc.memory_info().rss)
            except psutil.NoSuchProcess:
                break
            time.sleep(0.25)

    def stop(self) -> dict:
        self.running = False
        self.join()
        cpu = self.proc.cpu_times()
        elapsed = time.monotonic() - self.t_start
        system = cpu.system - self.cpu_start.system
        used = (cpu.user - self.cpu_start.user) + system
        # The kernel's share apart: system calls (sends above all) or our own code.
        return {"cpu_percent": 100 * used / elapsed, "sys_percent": 100 * system / elapsed,
                "peak_rss_mb": self.peak_rss / 2**20}


class Synthese:
    """One or several ``synthese serve`` processes on one database (several: with Redis)."""

    def __init__(self, workdir: Path, async_mode: str, rooms: int, processes: int = 1,
                 database_url: str | None = None, redis_url: str | None = REDIS_URL,
                 placement: str = "spread", code: Path = ROOT):
        self.name = f"synthese ({async_mode})" + ("" if code == ROOT else f" [{code.name}]")
        if processes > 1:
            self.name += f" x{processes}" + (" + Redis" if redis_url else ", independent")
            if placement == "room":
                self.name += ", placed"
        ports = [free_port() for _ in range(processes)]
        self.urls = [f"http://127.0.0.1:{port}" for port in ports]
        #: The first process answers the API; the clients spread over all of them.
        self.url = self.urls[0]
        env = {**os.environ,
               "SYNTHESE_DATABASE_URL": database_url or f"sqlite:///{workdir / f'bench-{async_mode}-{processes}.db'}",
               "SYNTHESE_SECRET_KEY": "bench",
               # The load creates its 30 events and 360 participants from one address.
               "SYNTHESE_RATE_LIMITS": "off",
               # ...and its people all share one participant token.
               "SYNTHESE_MAX_SOCKETS_PER_CREDENTIAL": "10000",
               "SYNTHESE_MAX_SOCKETS_PER_ADDRESS": "10000",
               # Another checkout's code (a git worktree of an earlier commit), for before/after.
               "PYTHONPATH": str(code)}
        if processes > 1 and redis_url:
            env["SYNTHESE_REDIS_URL"] = redis_url
        self.procs = []
        self.logs = [workdir / f"server-{async_mode}-{processes}-{i}.log" for i in range(processes)]
        for i, port in enumerate(ports):
            self.procs.append(subprocess.Popen(
                [str(ROOT / ".venv/bin/synthese"), "serve", "--port", str(port), "--no-demo",
                 "--async-mode", async_mode],
                env=env, stdout=subprocess.DEVNULL, stderr=open(self.logs[i], "w"),
            ))
            # One at a time: each runs the migrations at start-up.
            wait_http(self.urls[i] + "/healthz")
        self.proc = self.procs[0]
        event = requests.post(self.url + "/api/events", json={"title": "Forum bench"}).json()
        self.organiser = event["organiser_token"]
        self.ids = [
            requests.post(f"{self.url}/api/events/{event['slug']}/ateliers",
                          json={"title": f"Atelier {i}", "number": i},
                          headers={"Authorization": f"Bearer {self.organiser}"}).json()["id"]
            for i in range(1, rooms + 2)
        ]
        self.token = requests.post(f"{self.url}/api/events/{event['slug']}/participants",
                                   json={"join_code": event["join_code"], "name": "bench"}).json()["token"]
        self.rooms = [f"atelier-{i}" for i in self.ids[:-1]]
        self.probe_room = f"atelier-{self.ids[-1]}"

    def stored_text(self, room: str) -> str:
        atelier_id = room.split("-")[1]
        return requests.get(f"{self.url}/api/ateliers/{atelier_id}",
                            headers={"Authorization": f"Bearer {self.organiser}"}).json()["fields"]["synthese"]

    def stop(self):
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(10)

    def died(self) -> list[str]:
        """Processes that exited by themselves (a crash), with the end of their log."""
        return [f"process {i} exited with {proc.returncode}:\n" + self.logs[i].read_text(errors="replace")[-2000:]
                for i, proc in enumerate(self.procs) if proc.poll() is not None]


class Reference:
    name = "reference (node y-socket.io)"

    def __init__(self, rooms: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(["node", str(JS / "reference-server.mjs"), str(self.port)],
                                     stdout=subprocess.DEVNULL)
        self.procs = [self.proc]
        self.urls = [self.url]
        wait_http(self.url)
        self.token = ""
        self.rooms = [f"ref-{i}" for i in range(1, rooms + 1)]
        self.probe_room = "ref-probe"

    def stored_text(self, room):
        return None  # the reference keeps nothing

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


HOCUSPOCUS = ROOT / "bench" / "hocuspocus"


class Hocuspocus(Reference):
    """@hocuspocus/server + @hocuspocus/extension-sqlite, default settings: it
    relays first and stores each document 2-10 s later. Its clients speak its
    own protocol (bench/hocuspocus/clients.mjs)."""

    name = "hocuspocus + sqlite"
    protocol = "hocuspocus"

    def __init__(self, workdir: Path, rooms: int):
        if not (HOCUSPOCUS / "node_modules").exists():
            # Apart from the app's front end: better-sqlite3 may build from source.
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HOCUSPOCUS, check=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(["node", str(HOCUSPOCUS / "server.mjs"), str(self.port),
                                      str(workdir / f"hocuspocus-{self.port}.sqlite")], stdout=subprocess.DEVNULL)
        self.procs = [self.proc]
        self.urls = [self.url]
        wait_http(self.url)
        self.token = ""
        self.rooms = [f"hp-{i}" for i in range(1, rooms + 1)]
        self.probe_room = "hp-probe"


def run_round(server, args, round_no: int) -> dict:
    # Fresh rooms every round, so that rounds do not inherit each other's text.
    rooms = [f"{r}" for r in server.rooms]
    protocol = getattr(server, "protocol", "y-socket.io")
    samplers = [Sampler(proc.pid) for proc in server.procs]
    urls = ",".join(server.urls)
    loads = [subprocess.Popen(
        ["node", str(JS / "load.mjs"), f"--url={urls}", f"--rooms={','.join(rooms)}",
         f"--token={server.token}", f"--clients={args.clients}", f"--writers={args.writers}",
         f"--period={args.period}", f"--duration={args.duration}", f"--settle={args.settle}",
         f"--presence={args.presence}", f"--placement={args.placement}", f"--protocol={protocol}",
         f"--part={part}/{args.load_processes}"],
        stdout=subprocess.PIPE, text=True,
    ) for part in reversed(range(args.load_processes))]
    load, helpers = loads[-1], loads[:-1]  # part 0 writes and checks; the others hold readers
    load_samplers = [Sampler(proc.pid) for proc in loads]
    # Once every client has synced, the load says it starts writing; the
    # probe runs inside the writing time, ending before the clients leave
    # (360 sockets closing at once is another workload).
    for proc in loads:
        proc.stdout.readline()
    time.sleep(args.warmup)
    for sampler in samplers:
        sampler.start()
    for sampler in load_samplers:
        sampler.start()
    probe = subprocess.Popen(
        # With several processes the probe's writer and reader sit on
        # different ones, unless rooms are placed.
        ["node", str(JS / "probe.mjs"), f"--url={urls}", f"--room={rooms[0] if args.probe_room == 'load' else server.probe_room}",
         f"--token={server.token}", f"--duration={args.duration - args.warmup - 3}",
         f"--placement={args.placement}", f"--protocol={protocol}"],
        stdout=subprocess.PIPE, text=True,
    )
    spies = [profile(proc.pid, args, server.name, round_no, i) for i, proc in enumerate(server.procs)
             if args.profile and isinstance(server, Synthese)]
    probe_out, _ = probe.communicate(timeout=args.duration + 60)
    for spy, out in spies:
        spy.wait(60)
        print(summarize_profile(out), flush=True)
    per_process = [sampler.stop() for sampler in samplers]
    usage = {"cpu_percent": sum(u["cpu_percent"] for u in per_process),
             "sys_percent": sum(u["sys_percent"] for u in per_process),
             "peak_rss_mb": sum(u["peak_rss_mb"] for u in per_process),
             "per_process": per_process}
    per_load = [sampler.stop() for sampler in load_samplers]
    load_usage = {"cpu_percent": sum(u["cpu_percent"] for u in per_load),
                  "peak_rss_mb": sum(u["peak_rss_mb"] for u in per_load)}
    for proc in helpers:
        proc.terminate()
        proc.wait(10)
    load_out, _ = load.communicate(timeout=args.duration + args.settle + 120)
    try:
        probe_result = json.loads(probe_out.strip().splitlines()[-1])
        load_result = json.loads(load_out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        # A client process gave up (e.g. its clients could not even sync): that is the result.
        return {"server": server.name, "round": round_no, "failed": "clients could not sync (see stderr)",
                "usage": usage}
    durable_mismatch, differences = None, []
    if server.stored_text(rooms[0]) is not None:
        for r in load_result["per_room"]:
            stored = server.stored_text(r["room"])
            if stored != r["text"]:
                at = next((i for i, (a, b) in enumerate(zip(stored, r["text"])) if a != b),
                          min(len(stored), len(r["text"])))
                differences.append({"room": r["room"], "stored_len": len(stored), "client_len": len(r["text"]),
                                    "at": at, "stored": stored[max(0, at - 30):at + 60],
                                    "client": r["text"][max(0, at - 30):at + 60]})
        durable_mismatch = len(differences)
    return {"server": server.name, "round": round_no, "probe": probe_result, "load": load_result,
            "usage": usage, "load_usage": load_usage, "durable_mismatch": durable_mismatch,
            "differences": differences}


def profile(pid: int, args, name: str, round_no: int, index: int):
    """py-spy sampling one server process while the probe runs (its own
    overhead is outside the process: --nonblocking, it does not stop it).

    Only the thread holding the GIL is sampled (--gil): without it, py-spy
    counts the event loop's wait in epoll_wait as busy, and that showed as
    a quarter of the samples ("gevent hub", Hub.run itself) while perf saw
    2 % of the CPU there."""
    out = Path(args.profile) / f"{name.split()[0]}-r{round_no}-p{index}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen([str(ROOT / ".venv/bin/py-spy"), "record", "--pid", str(pid), "--format", "raw",
                            "--rate", "250", "--nonblocking", "--gil", "--duration", str(max(1, args.duration - args.warmup - 5)),
                            "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return spy, out


#: Where the CPU goes: the first frame, from the leaf up, whose file (and
#: function, when given) matches names the part.
PROFILE_PARTS = [
    ("database commit", [("synthese/database", None), ("sqlite3", None), ("psycopg", None),
                         ("synthese/documents", "append"), ("synthese/documents", "_append"),
                         ("synthese/documents", "_append_sqlite"), ("synthese/documents", "_append_postgres"),
                         ("synthese/documents", "_timestamp")]),
    ("update check (synthese/yjs)", [("synthese/yjs", None)]),
    ("pycrdt apply, merge", [("pycrdt", None)]),
    ("socket writes", [("gevent/_socketcommon", "send"), ("gevent/_socketcommon", "sendall"),
                       ("synthese/realtime/frames", None), ("synthese/realtime/overrides", "write_now"),
                       ("synthese/realtime/overrides", "send_frame"), ("synthese/realtime/overrides", "emit")]),
    ("socket reads", [("gevent/_socketcommon", "recv"), ("gevent/_socketcommon", "recv_into"),
                      ("geventwebsocket", None), ("synthese/realtime/overrides", "read_message")]),
    ("engine.io / socket.io packets", [("engineio", None), ("socketio", None)]),
    ("presence", [("synthese/realtime/awareness", None), ("synthese/realtime/roster", None)]),
    ("pipeline, rooms", [("synthese/realtime/pipeline", None), ("synthese/realtime/rooms", None)]),
    ("gevent hub, greenlets", [("gevent", None)]),
]

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:]*?)(?:\.py)?(?::\d+)?\)$")


def _part_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        m = _FRAME.match(frame)
        if not m:
            continue
        func = m["func"].rpartition(".")[2]
        for part, keys in PROFILE_PARTS:
            if any(f in m["file"] and (fn is None or fn == func) for f, fn in keys):
                return part
    return "other"


def summarize_profile(path: Path) -> str:
    """The CPU of one profile, by part and by the functions that take most of it themselves."""
    parts, own, total = {}, {}, 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        m = _FRAME.match(frames[-1])
        leaf = f"{m['func']} ({m['file']})" if m else frames[-1]
        own[leaf] = own.get(leaf, 0) + n
        where = _part_of(frames)
        parts[where] = parts.get(where, 0) + n
    lines = [f"profile {path.name}: {total} samples"]
    for part, n in sorted(parts.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {100 * n / total:5.1f} %  {part}")
    lines.append("  top functions (self):")
    for fn, n in sorted(own.items(), key=lambda kv: -kv[1])[:12]:
        lines.append(f"  {100 * n / total:5.1f} %  {fn}")
    return "\n".join(lines)


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def report(results):
    print()
    header = (f"{'server':32} {'rnd':>3} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} {'probe lost':>10} "
              f"{'upd lost':>8} {'rooms ok':>8} {'conv s':>6} {'stored≠':>7} {'srv CPU%':>8} {'sys%':>5} {'srv MB':>7} {'load CPU%':>9}")
    print(header)
    print("-" * len(header))
    for r in results:
        if r.get("failed"):
            print(f"{r['server']:32} {r['round']:>3} FAILED: {r['failed']} (server CPU {r['usage']['cpu_percent']:.0f}%)")
            continue
        lat = r["probe"]["latencies"]
        load = r["load"]
        conv = "-" if load["converged_after"] is None else f"{load['converged_after']:.1f}"
        stored = "-" if r["durable_mismatch"] is None else str(r["durable_mismatch"])
        print(f"{r['server']:32} {r['round']:>3} {percentile(lat, 50):7.1f} {percentile(lat, 95):7.1f} "
              f"{percentile(lat, 99):7.1f} {max(lat or [float('nan')]):7.1f} {r['probe']['lost']:>10} "
              f"{load['lost']:>8} {load['rooms_converged']:>5}/{load['rooms']:<2} {conv:>6} {stored:>7} "
              f"{r['usage']['cpu_percent']:8.1f} {r['usage']['sys_percent']:5.1f} {r['usage']['peak_rss_mb']:7.0f} {r['load_usage']['cpu_percent']:9.1f}"
              + ("  per process: " + ", ".join(f"{u['cpu_percent']:.0f}% {u['peak_rss_mb']:.0f} MB"
                                               for u in r["usage"]["per_process"])
                 if len(r["usage"].get("per_process", [])) > 1 else ""))
    print()
    print("All rounds together (ms):")
    for name in dict.fromkeys(r["server"] for r in results):
        done = [r for r in results if r["server"] == name and not r.get("failed")]
        lat = [x for r in done for x in r["probe"]["latencies"]]
        sent = sum(r["load"]["sent"] for r in done)
        print(f"  {name:32} p50 {percentile(lat, 50):6.1f}  p95 {percentile(lat, 95):6.1f}  "
              f"p99 {percentile(lat, 99):6.1f}  samples {len(lat)}  updates written {sent}")
    for r in results:
        if r.get("probe", {}).get("slow"):
            print(f"  slow markers, {r['server']} round {r['round']} (ms since start, latency):", r["probe"]["slow"][:20])
    for r in results:
        for d in r.get("differences", []):
            print(f"  stored ≠ client, {r['server']} round {r['round']}: {d}")
    errors = {e for r in results if not r.get("failed") for e in r["load"]["errors"]}
    if errors:
        print("client errors:", errors)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", type=int, default=30)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--period", type=int, default=400, help="ms between a writer's edits")
    parser.add_argument("--presence", default="no", choices=["yes", "no"],
                        help="writers also move their cursor at each edit (one awareness update per edit)")
    parser.add_argument("--duration", type=int, default=30, help="seconds of load per round")
    parser.add_argument("--settle", type=int, default=30, help="seconds allowed to converge after the load")
    parser.add_argument("--probe-room", choices=["own", "load"], default="own",
                        help="the probe's writer and reader in a room of their own, or in the first loaded "
                             "room (what a plenary's people see of its relays)")
    parser.add_argument("--warmup", type=float, default=2,
                        help="seconds of writing before the probe starts (it stops 3 s before the writing does)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per server, alternating")
    parser.add_argument("--modes", default="gevent", help="Synthèse async modes to measure, comma-separated")
    parser.add_argument("--load-processes", type=int, default=1,
                        help="Node processes of clients (a plenary of Hocuspocus providers needs more than one core)")
    parser.add_argument("--processes", type=int, default=1,
                        help="Synthèse processes (more than one: behind Redis, clients spread over them)")
    parser.add_argument("--placement", default="spread", choices=["spread", "room"],
                        help="with several processes: each room's clients spread over them, or on one "
                             "(nginx's hash on the room cookie, docs/production.md)")
    parser.add_argument("--redis", default="yes", choices=["yes", "no"],
                        help="no, with --placement room: the processes share nothing but the database "
                             "(the ideal a pair behind Redis can approach)")
    parser.add_argument("--database-url", help="database of the Synthèse processes (default: SQLite)")
    parser.add_argument("--reference", default="yes", choices=["yes", "no"], help="also run the y-socket.io reference")
    parser.add_argument("--hocuspocus", default="yes", choices=["yes", "no"], help="also run Hocuspocus")
    parser.add_argument("--code", type=Path, action="append", default=[],
                        help="serve this checkout's code (repeat it to alternate between checkouts, "
                             "e.g. a git worktree of the previous commit and this one)")
    parser.add_argument("--json", help="also write raw results to this file")
    parser.add_argument("--profile", help="profile the Synthèse processes with py-spy, into this directory")
    args = parser.parse_args()
    if args.redis == "no" and args.processes > 1 and args.placement != "room":
        parser.error("--redis no needs --placement room: a room spread over processes needs Redis")

    workdir = Path(tempfile.mkdtemp(prefix="synthese-bench-"))
    results = []
    for round_no in range(1, args.rounds + 1):
        for mode in args.modes.split(","):
            for code in [c.resolve() for c in args.code] or [ROOT]:
                server = Synthese(workdir, mode, args.rooms, args.processes, args.database_url,
                                  redis_url=None if args.redis == "no" else REDIS_URL, placement=args.placement,
                                  code=code)
                try:
                    print(f"round {round_no}: {server.name} ...", flush=True)
                    results.append(run_round(server, args, round_no))
                    for death in server.died():
                        print(f"round {round_no}: {server.name} CRASHED: {death}", flush=True)
                        results[-1]["failed"] = "a server process crashed"
                finally:
                    server.stop()
        references = ([lambda: Reference(args.rooms)] if args.reference == "yes" else []) + (
            [lambda: Hocuspocus(workdir, args.rooms)] if args.hocuspocus == "yes" else [])
        for make in references:
            server = make()
            try:
                print(f"round {round_no}: {server.name} ...", flush=True)
                results.append(run_round(server, args, round_no))
            finally:
                server.stop()
    report(results)
    if args.json:
        for r in results:
            r.get("load", {}).pop("per_room", None)
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
