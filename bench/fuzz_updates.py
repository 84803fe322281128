"""The differential fuzz test of what the server accepts, for longer than CI runs it.

    .venv/bin/python bench/fuzz_updates.py [--seeds 200] [--rounds 20] [--first 1]

For each seed: Yjs writers in Node type, delete and sync; their updates,
mutated copies and crafted hostile ones go through the server's check
(synthese/yjs.py); whatever it accepts is applied to pycrdt and to Yjs, and
their texts must agree after each, with nothing pending in Yjs and a fresh
client reading the same sheet (tests/yjs_craft.py run_differential).
Prints the counts, and the first seed that fails, if any.
"""
import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.yjs_craft import YjsPeer, run_differential  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20, help="sheets per seed")
    parser.add_argument("--first", type=int, default=1)
    args = parser.parse_args()
    totals: dict[str, int] = {}
    peer = YjsPeer()
    started = time.monotonic()
    failed = None
    try:
        for seed in range(args.first, args.first + args.seeds):
            try:
                counts = run_differential(seed, args.rounds, peer)
            except AssertionError as exc:
                failed = (seed, str(exc)[:2000])
                break
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
    finally:
        peer.close()
    print(f"{args.seeds} seeds x {args.rounds} sheets in {time.monotonic() - started:.0f} s")
    for key, value in totals.items():
        print(f"  {key:15} {value}")
    if failed:
        print(f"seed {failed[0]} FAILED: {failed[1]}")
        return 1
    print("pycrdt and Yjs agreed on everything accepted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
