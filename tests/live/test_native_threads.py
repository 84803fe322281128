"""Compactions and checkpoints run in a native thread: nothing crosses threads unsafely."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_compactions_and_checkpoints_at_once_never_crash_the_process():
    """Six sheets written while compactions and checkpoints run continuously,
    under gevent. When they ran in gevent's shared pool, the one compacting
    sqlite3 connection was used by several threads at once and the process
    died of SIGSEGV within seconds (bench/crash_compactor.py --shared-pool,
    3 crashes in 3 runs); the store's own database thread serialises them."""
    proc = subprocess.run([sys.executable, str(ROOT / "bench/crash_compactor.py"), "--runs", "1", "--updates", "1500"],
                          capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, proc.stdout + proc.stderr
