"""The layout's boundaries (pyproject.toml, [tool.importlinter]): the
realtime wing and the domain never import the doors, only the realtime
wing's face is used from outside it, and the pure modules stay pure."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
