"""One table from several bench/forum.py runs (their --json files).

    .venv/bin/python bench/summarize.py forum=a.json "big forum=b.json" ...

Per workload and server: p50 / p95 / p99 over all rounds' probe samples,
server CPU per round, and whether anything was lost, unconverged or stored
differently from what the clients saw; then the server's mean CPU over
Hocuspocus's in the same run, and the same per update its load wrote.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forum import percentile  # noqa: E402


def main(argv: list[str]) -> int:
    print("| workload | server | p50 / p95 / p99 ms | server CPU % (each round) | lost, unconverged, stored≠ "
          "| CPU / Hocuspocus's (per update) |")
    print("|---|---|---|---|---|---|")
    for arg in argv:
        workload, _, path = arg.partition("=")
        results = json.loads(Path(path).read_text())
        hocuspocus = _cpu([r for r in results if r["server"].startswith("hocuspocus")])
        for name in dict.fromkeys(r["server"] for r in results):
            rounds = [r for r in results if r["server"] == name]
            done = [r for r in rounds if not r.get("failed")]
            lat = [x for r in done for x in r["probe"]["latencies"]]
            cpu = ", ".join(f"{r['usage']['cpu_percent']:.1f}" for r in rounds)
            lost = sum(r["probe"]["lost"] + r["load"]["lost"] for r in done)
            unconverged = sum(r["load"]["rooms"] - r["load"]["rooms_converged"] for r in done)
            stored = "-" if any(r["durable_mismatch"] is None for r in done) else sum(
                r["durable_mismatch"] for r in done)
            failed = len(rounds) - len(done)
            ours = _cpu(done)
            ratio = "-"
            if hocuspocus and ours and not name.startswith("hocuspocus"):
                ratio = f"{ours[0] / hocuspocus[0]:.2f} ({ours[1] / hocuspocus[1]:.2f})"
            print(f"| {workload} | {name} | {percentile(lat, 50):.1f} / {percentile(lat, 95):.1f} / "
                  f"{percentile(lat, 99):.1f} | {cpu} | {lost}, {unconverged}, {stored}"
                  + (f", {failed} round(s) failed" if failed else "") + f" | {ratio} |")
    return 0


def _cpu(rounds: list[dict]) -> tuple[float, float] | None:
    """Mean server CPU % over the rounds, and the same per update written."""
    done = [r for r in rounds if not r.get("failed")]
    if not done:
        return None
    cpu = sum(r["usage"]["cpu_percent"] for r in done) / len(done)
    return cpu, cpu / (sum(r["load"]["sent"] for r in done) / len(done))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
