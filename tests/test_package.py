"""The PyInstaller build starts on a machine with no Python and renders its screens.

The bundle is rebuilt (``pyinstaller --noconfirm --clean build.spec``, as ``make package``)
when CI is set, when there is none, or when anything it is made of is newer than it, so
the test never passes on a stale build; then the built program itself is run.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILT = ROOT / "dist" / "agent-desktop" / "agent-desktop"
INPUTS = ("build.spec", "pyproject.toml", "agent_desktop", "server_stub", "resources")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def _newest_input() -> float:
    newest = 0.0
    for name in INPUTS:
        path = ROOT / name
        files = [path] if path.is_file() else (
            p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        newest = max([newest, *(p.stat().st_mtime for p in files)])
    return newest


def _needs_build() -> bool:
    return (bool(os.environ.get("CI")) or not BUILT.exists()
            or _newest_input() > BUILT.stat().st_mtime)


@pytest.fixture(scope="module")
def built() -> Iterator[Path]:
    if _needs_build():
        done = subprocess.run(
            [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "build.spec"],
            cwd=ROOT, capture_output=True, text=True, timeout=900,
        )
        assert done.returncode == 0, f"PyInstaller failed:\n{done.stderr[-5000:]}"
    assert BUILT.is_file() and os.access(BUILT, os.X_OK)
    yield BUILT


def _env(tmp_path: Path) -> dict[str, str]:
    """No Python of ours to lean on: the venv is off PATH and no PYTHON* variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["AGENT_DESKTOP_HOME"] = str(tmp_path / "home")
    env["AGENT_DESKTOP_NO_CRASH_DIALOG"] = "1"
    return env


def test_the_packaged_app_starts_offscreen_and_writes_screenshots(
        built: Path, store_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "shots"
    done = subprocess.run(
        [str(built), "--store", str(store_path), "--screenshot", str(out)],
        env=_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "03-customer-360-billing.png" in pngs
    assert len(pngs) >= 10, pngs
    for name in pngs:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    # The 360's billing tab holds the pyqtgraph chart: a real render, not an empty frame.
    assert (out / "03-customer-360-billing.png").stat().st_size > 20_000


def test_the_packaged_app_creates_a_demo_store(built: Path, tmp_path: Path) -> None:
    """Faker's en_US names, the Alembic scripts on disk and resources/ (catalog,
    knowledge articles) all come from the bundle."""
    out = tmp_path / "gen.sqlite3"
    done = subprocess.run(
        [str(built), "demo-data", "--customers", "50", "--seed", "1",
         "--as-of", "2026-11-15", "--out", str(out)],
        env=_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    heads = sorted(p.stem.split("_")[0] for p in
                   (ROOT / "agent_desktop" / "storage" / "migrations" / "versions").glob("0*.py"))
    with sqlite3.connect(out) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 50
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == heads[-1]
        assert conn.execute("SELECT count(*) FROM knowledge_articles").fetchone()[0] > 0
        assert conn.execute("SELECT count(*) FROM products").fetchone()[0] > 0
        names = [r[0] for r in conn.execute("SELECT last_name FROM customers")]
        phones = [r[0] for r in conn.execute(
            "SELECT value FROM contact_points WHERE kind = 'phone'")]
    assert len(set(names)) > 10
    assert phones and all(p.startswith("+1") for p in phones), phones[:5]
