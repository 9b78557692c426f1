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


def test_presets_lists_timms_models_and_why_some_are_not_expressible(capsys):
    from arch_lab.timm_family import timm_models, unsupported_timm_models

    assert main(["presets", "--timm"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if not line.startswith("#")] == [f"timm:{name}" for name in timm_models()]
    notes = [line for line in lines if line.startswith("#")]
    assert len(notes) == len(unsupported_timm_models()) and any("regnetv_040: not expressible: RegNetV" in n
                                                                 for n in notes)


def test_timm_models_are_designs_for_every_command(capsys):
    from arch_lab.timm_family import from_timm

    assert main(["show", "timm:resnet50d.a1_in1k"]) == 0
    assert ResNetSpec.from_dict(json.loads(capsys.readouterr().out)) == from_timm("resnet50d")
    assert main(["analyse", "timm:seresnet18"]) == 0
    assert "11.780" in capsys.readouterr().out  # timm's seresnet18: 11,779,624 parameters (SE widths of 8 at least)


def test_an_unknown_timm_model_is_one_line_and_exit_2():
    result = subprocess.run([sys.executable, "-m", "arch_lab", "analyse", "timm:resnet50x"], capture_output=True,
                            text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: timm: 'resnet50x' is not a supported timm model; nearest: resnet50, resnet50t, resnet50s, resnet50d"]
