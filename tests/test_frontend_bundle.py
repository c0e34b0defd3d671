"""The committed browser bundle (tenderhall/bids/static/bids/seal.bundle.js) is exactly what
scripts/build-frontend makes from frontend/: it cannot drift from its source or its pinned dependencies.
Needs Node.js 20 with npm (make install-dev does not install it; CI's image has it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "tenderhall" / "bids" / "static" / "bids" / "seal.bundle.js"


def test_the_committed_bundle_is_what_the_build_makes(tmp_path: Path) -> None:
    assert shutil.which("npm"), (
        "npm is not installed: the browser bundle check needs Node.js 20 with npm (docs/sealed-bids.md)"
    )
    out = tmp_path / "seal.bundle.js"
    build = subprocess.run(
        [str(ROOT / "scripts" / "build-frontend"), str(out)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    assert out.read_bytes() == BUNDLE.read_bytes(), (
        "tenderhall/bids/static/bids/seal.bundle.js differs from what frontend/ builds: "
        "run scripts/build-frontend (make frontend) and commit the bundle"
    )
