"""Presets are package data: a wheel built from the project carries every preset, and the CLI and the app
work from a plain (non-editable) install, not only from a checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from arch_lab import SpecError, load_preset, presets
from arch_lab.spec import MAX_JSON_CHARS

ROOT = Path(__file__).resolve().parent.parent
PRESET_NAMES = sorted(path.stem for path in (ROOT / "presets").glob("*.json"))


def test_the_package_reads_the_top_level_presets_through_a_link():
    """One copy of the files: ``arch_lab/preset_files`` must stay a link, never a copy that can drift."""
    link = ROOT / "arch_lab" / "preset_files"
    assert link.is_symlink()
    assert link.resolve() == (ROOT / "presets").resolve()
    assert presets.list_presets() == PRESET_NAMES


def test_a_preset_goes_through_the_utf8_and_size_checks(tmp_path, monkeypatch):
    (tmp_path / "latin1_net.json").write_bytes('{"source": "Müller"}'.encode("latin-1"))
    (tmp_path / "huge_net.json").write_text(" " * (MAX_JSON_CHARS + 1))
    monkeypatch.setattr(presets, "PRESET_DIR", tmp_path)
    with pytest.raises(SpecError, match=r"presets/latin1_net\.json is not UTF-8 text \(byte 13\)"):
        load_preset("latin1_net")
    with pytest.raises(SpecError, match=r"presets/huge_net\.json: 1,000,001 characters is too long"):
        load_preset("huge_net")


def _source_copy(dest: Path) -> Path:
    """What a fresh clone would hold (tracked and not-ignored files), so no stale build output of the
    checkout (``build/``, ``*.egg-info``) leaks into the wheel."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_symlink() or source.exists():  # a tracked file deleted in the work tree is skipped
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name, follow_symlinks=False)
    return dest


def _fresh_venv(path: Path) -> Path:
    """A new venv whose python sees this environment's installed dependencies (torch, gradio) through a
    ``.pth`` line, so nothing is downloaded, but not its ``.pth`` files: an editable arch_lab installed here
    stays invisible there. (``--system-site-packages`` would expose the base interpreter's packages, which
    lack torch when the tests run from a venv.)"""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    Path(site, "outer_environment.pth").write_text("".join(f"{p}\n" for p in ours))
    return python


def test_a_wheel_install_lists_every_preset_and_serves_the_app(tmp_path):
    """Build an sdist from a clean copy, a wheel from the sdist (as ``python -m build`` does), install it in a
    fresh venv, then run the CLI and ``app.py`` outside the checkout."""
    from app_fixtures import free_port, wait_until_serving  # imported here: test_app_api registers it as a plugin

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "GRADIO_SERVER_NAME")}
    env |= {"PYTHONNOUSERSITE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}

    def run(*args: str | Path, cwd: Path = tmp_path) -> str:
        done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    source = _source_copy(tmp_path / "source")
    run(sys.executable, "-c", "import sys, setuptools.build_meta as b; b.build_sdist(sys.argv[1])",
        tmp_path / "sdist", cwd=source)
    (sdist,) = (tmp_path / "sdist").glob("*.tar.gz")
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index", "--no-build-isolation",
        "-w", tmp_path / "wheel", sdist)
    (wheel,) = (tmp_path / "wheel").glob("*.whl")

    python = _fresh_venv(tmp_path / "venv")
    run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", wheel)
    installed = Path(run(python, "-c", "import arch_lab.presets as p; print(p.PRESET_DIR)").strip())
    assert installed.is_relative_to(tmp_path / "venv") and not installed.is_symlink()

    assert run(python, "-m", "arch_lab", "presets").split() == PRESET_NAMES

    app_dir = tmp_path / "app"
    app_dir.mkdir()
    shutil.copy(ROOT / "app.py", app_dir)
    port = free_port()
    log_path = tmp_path / "app.log"
    with log_path.open("w") as log:
        app = subprocess.Popen([python, "app.py"], cwd=app_dir, env={**env, "GRADIO_SERVER_PORT": str(port)},
                               stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_serving(f"http://127.0.0.1:{port}/", app, timeout_s=60)
        except (RuntimeError, TimeoutError) as exc:
            pytest.fail(f"{exc}; app log:\n{log_path.read_text()}")
        finally:
            app.terminate()
            try:
                app.wait(timeout=20)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()
