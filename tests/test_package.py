"""The PyInstaller build starts on a machine with no Python and renders its screens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILT = ROOT / "dist" / "agent-desktop" / "agent-desktop"


@pytest.mark.slow
def test_the_packaged_app_starts_offscreen_and_writes_screenshots(
        store_path: Path, tmp_path: Path) -> None:
    spec_newer = (ROOT / "build.spec").stat().st_mtime > (
        BUILT.stat().st_mtime if BUILT.exists() else 0)
    if not BUILT.exists() or spec_newer or os.environ.get("CI"):
        subprocess.run(
            [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "build.spec"],
            cwd=ROOT, check=True, capture_output=True, timeout=900,
        )
    out = tmp_path / "shots"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "AGENT_DESKTOP_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [str(BUILT), "--store", str(store_path), "--screenshot", str(out)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "03-customer-360-billing.png" in pngs
    assert len(pngs) >= 10
    assert (out / "03-customer-360-billing.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
