"""``python -m arch_lab presets`` / ``show``: output, and one clear line with a non-zero exit on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from arch_lab import ResNetSpec, list_presets, load_preset
from arch_lab.cli import main
from arch_lab.presets import PRESET_DIR


def test_presets_lists_every_preset_file(capsys):
    assert main(["presets"]) == 0
    assert capsys.readouterr().out.split() == sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def test_presets_with_sources(capsys):
    assert main(["presets", "--sources"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(list_presets())
    assert any(line.startswith("resnet20") and "arXiv 1512.03385" in line for line in lines)


def test_show_prints_the_validated_spec(capsys):
    assert main(["show", "resnext50_32x4d"]) == 0
    assert ResNetSpec.from_dict(json.loads(capsys.readouterr().out)) == load_preset("resnext50_32x4d")


def test_show_reads_a_file_and_fills_defaults(tmp_path, capsys):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"name": "mine", "block": "bottleneck", "depths": [1, 1]}))
    assert main(["show", str(path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["widths"] == [64, 128] and shown["strides"] == [1, 2]


@pytest.mark.parametrize(("content", "message"), [
    ('{"depths": "3,4,6,3"}', "depths: '3,4,6,3' is not a list"),
    ('{"depths": [3, 4,', "malformed JSON at line 1, column"),
    ('{"depths": [2, 2], "widht": [1, 2]}', "widht: unknown field"),
    ('{"depths": [600, 600]}', "max_blocks"),
])
def test_show_bad_file_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_unknown_preset_in_a_real_process_has_no_traceback():
    done = subprocess.run([sys.executable, "-m", "arch_lab", "show", "resnet05"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: preset: unknown preset 'resnet05'; did you mean ")
    assert "resnet50" in done.stderr


def test_missing_file(capsys):
    assert main(["show", "no/such/file.json"]) == 2
    assert "cannot read no/such/file.json" in capsys.readouterr().err
