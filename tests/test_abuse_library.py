"""The abuse suite, library and CLI side: issue 8's findings and the older probes, replayed.

Each hostile input must end in a ``SpecError``-family message naming the bound it breaks (the CLI: one
line, exit status 2), never another exception, a hang or a large allocation. The time to refusal is
measured by ``bench/abuse.py``; here the assertions are about what is refused and how.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hunting import examples
from hypothesis import example, given, settings
from hypothesis import strategies as st

from arch_lab import ResNetSpec, SpecError, load_preset
from arch_lab.analysis import analyse
from arch_lab.cache import WeightedLRU
from arch_lab.cli import main
from arch_lab.export import designs_from_json
from arch_lab.models import build_model
from arch_lab.plan import CACHED_LAYERS, plan
from arch_lab.spec import MAX_FILE_BYTES, MAX_JSON_CHARS, MAX_STAGES, downsample, load_spec_file, parse_json

ROOT = Path(__file__).resolve().parent.parent


def refusal(call, *args, **kwargs) -> str:
    """The SpecError message of ``call``; any other outcome fails the test."""
    with pytest.raises(SpecError) as info:
        call(*args, **kwargs)
    return str(info.value)


# ---- finding 1: many stages, and the smallest input computed without a search ----------------------------
def test_25_stages_are_refused_by_the_stage_bound():
    message = refusal(ResNetSpec.from_json, json.dumps({"depths": [1] * 25}))
    assert message == f"depths: 25 stages is too many; at most {MAX_STAGES}"


def _smallest_by_search(stem: str, strides: tuple[int, ...]) -> int:
    """The old definition of the smallest valid side: try every side until none collapses (test oracle)."""
    steps = {"classic": 2, "deep": 2, "simple": 1, "cifar": 0}[stem] + strides.count(2)  # conv (+ max-pool)

    def collapses(side: int) -> bool:
        for _ in range(steps):
            if side == 1:
                return True
            side = downsample(side)
        return False

    # up to 2 stem halvings and MAX_STAGES = 16 stride-2 stages: 18 steps, whose smallest side is 2**17 + 1
    return next(s for s in range(1, (1 << 17) + 2) if not collapses(s))


@settings(max_examples=examples(100))  # the oracle's search walks up to 2**17 sides: slow, not wrong
@given(stem=st.sampled_from(["classic", "deep", "simple", "cifar"]),
       strides=st.lists(st.sampled_from([1, 2]), min_size=1, max_size=MAX_STAGES).map(tuple))
@example(stem="classic", strides=(2,) * MAX_STAGES)  # found by the hunt: 18 halvings, past the oracle's old search
def test_smallest_input_in_closed_form_matches_a_search(stem, strides):
    smallest = _smallest_by_search(stem, strides)
    spec = {"depths": [1] * len(strides), "strides": list(strides), "stem": stem,
            "widths": [8] * len(strides)}
    if 1 < smallest <= 8193:  # beyond that, the side bound (8,192) refuses first
        message = refusal(ResNetSpec.from_dict, {**spec, "input_size": smallest - 1})
        assert message.endswith(f"this design needs at least {smallest}")
    if smallest <= 8192:
        assert ResNetSpec.from_dict({**spec, "input_size": smallest}).input_size == (smallest, smallest)


def test_sixteen_stride_two_stages_need_a_larger_input_than_the_bound_allows():
    message = refusal(ResNetSpec.from_dict, {"depths": [1] * 16, "strides": [2] * 16, "widths": [8] * 16})
    assert message.startswith("input_size: height 224 is too small") and message.endswith(f"{2 ** 17 + 1}")


# ---- finding 3: errors other than SpecError -------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("[" * 10_000 + "]" * 10_000, "nested too deeply"),
    ('{"depths": [' + "9" * 5000 + "]}", "too long"),
    ("x" * (MAX_JSON_CHARS + 1), f"at most {MAX_JSON_CHARS:,}"),
])
def test_hostile_json_text_is_a_spec_error(text, expected):
    assert expected in refusal(ResNetSpec.from_json, text)


@pytest.mark.parametrize(("change", "expected"), [
    ({"se_ratio": int("9" * 400)}, "se_ratio: <an integer of 1,329 bits> is out of range"),
    ({"se_ratio": float("nan")}, "se_ratio: nan is out of range"),
    ({"depths": [int("9" * 1000)]}, "depths[0]: <an integer of 3,322 bits> is too large"),
    ({"depths": [2] * 10_000}, "depths: 10,000 stages is too many"),
    ({"name": "\ud800x"}, "name: '\\ud800x' contains a control or unpaired surrogate character"),
    ({"name": "n" * 70}, "name: 70 characters is too long; use at most 60"),
    ({"name": ["x" * 1_000_000]}, "name: ['xxxxxxxxxxxx"),
    ({"widths": [1 << 20] * 4}, "widths[0]: 1048576 is too large; expected an integer <= 65,536"),
    ({"input_size": 100_000}, "input_size: 100000 is too large; expected an integer <= 8,192"),
    ({"num_classes": 10 ** 9}, "num_classes: 1000000000 is too large"),
])
def test_hostile_values_are_refused_naming_the_bound(change, expected):
    message = refusal(ResNetSpec.from_dict, {"depths": [2, 2, 2, 2], **change})
    assert message.startswith(expected) and len(message) < 300, message


def test_a_lone_surrogate_in_a_design_set_is_refused_before_any_csv_is_written():
    text = json.dumps({"designs": [{"spec": {"name": "\ud800x", "depths": [1, 1, 1, 1]}}]})
    assert "designs[0].spec: name:" in refusal(designs_from_json, text)


# ---- finding 5: spec files of the wrong type or size ----------------------------------------------------
def test_files_that_are_not_regular_or_too_big_or_not_utf8_are_refused(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_FILE_BYTES + 1))
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"name": "caf\xe9"}')
    assert "is not a regular file" in refusal(load_spec_file, fifo)
    assert "is not a regular file" in refusal(load_spec_file, zero)
    assert f"at most {MAX_FILE_BYTES:,}" in refusal(load_spec_file, big)
    assert "is not UTF-8 text (byte 13)" in refusal(load_spec_file, latin)


@pytest.mark.parametrize("command", ["show", "analyse", "compare"])
def test_cli_refuses_a_fifo_and_dev_zero_in_one_line_without_hanging(tmp_path, command):
    """A subprocess with a timeout: on the old code the FIFO blocked forever and /dev/zero read until
    MemoryError; either way this test fails instead of hanging the suite."""
    fifo, zero = tmp_path / "pipe.json", tmp_path / "zero.json"
    os.mkfifo(fifo)
    zero.symlink_to("/dev/zero")
    for path in (fifo, zero):
        done = subprocess.run([sys.executable, "-m", "arch_lab", command, str(path)], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert "is not a regular file" in done.stderr


@pytest.mark.parametrize(("content", "expected"), [
    (json.dumps({"depths": [1] * 25}), "depths: 25 stages is too many"),
    ("[" * 10_000, "nested too deeply"),
    ('{"se_ratio": ' + "9" * 400 + "}", "se_ratio: <an integer"),
])
def test_cli_turns_each_hostile_file_into_one_line_and_status_2(tmp_path, capsys, content, expected):
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["analyse", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err, err


def test_cli_internal_errors_are_one_line_with_status_1(capsys, monkeypatch):
    import arch_lab.cli.spec_commands as spec_commands

    def broken(_name):
        raise KeyError("x" * 10_000)

    monkeypatch.setattr(spec_commands, "resolve", broken)
    assert main(["show", "resnet18"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("internal error: KeyError:") and err.count("\n") == 1 and len(err) < 300


# ---- finding 4 (library side): preset names -------------------------------------------------------------
@pytest.mark.parametrize("name", ["x" * 2_000_000, "../../etc/passwd", "/etc/passwd", "resnet18.json"])
def test_preset_names_are_looked_up_never_opened_and_never_echoed_in_full(name):
    message = refusal(load_preset, name)
    assert message.startswith("preset: ") and len(message) < 400


# ---- finding 7: caches keyed by the network -------------------------------------------------------------
def test_designs_that_differ_only_by_name_share_one_plan_and_one_report():
    base = load_preset("resnet50")
    first, second = base.replace(name="a" * 60), base.replace(name="b" * 60)
    assert plan(first) is plan(second)
    a, b = analyse(first), analyse(second)
    assert a.name == "a" * 60 and b.name == "b" * 60  # each report still carries its own name
    assert a._plan is b._plan and a.params == b.params


def test_weighted_cache_never_holds_more_than_its_bound():
    cache: WeightedLRU[list[int]] = WeightedLRU(100, len)
    for key in range(50):
        cache.get(key, lambda key=key: [key] * 30)
        assert cache.weight <= 100
    assert len(cache) == 3 and cache.get(49, lambda: [0]) == [49] * 30  # the newest are kept
    assert cache.get("huge", lambda: [0] * 101) == [0] * 101 and "huge" not in cache._items


def test_the_plan_cache_is_bounded_by_layers_not_entries():
    from arch_lab.plan import _PLANS

    for blocks in range(1, 60):
        plan(ResNetSpec(depths=(blocks, 200, 200, 200), widths=(8, 8, 8, 8), input_size=32))
    assert _PLANS.weight <= CACHED_LAYERS


# ---- finding 9: library calls with a wrong type or device -----------------------------------------------
@pytest.mark.parametrize(("args", "kwargs", "expected"), [
    (({"depths": [2, 2, 2, 2]},), {}, "spec: expected a ResNetSpec"),
    ((load_preset("resnet18"),), {"device": "nonsense"}, "device: 'nonsense' is not a device"),
    ((load_preset("resnet18"),), {"device": "cuda:7"}, "device: 'cuda:7' is not on this machine"),
])
def test_build_model_refuses_wrong_types_and_devices(args, kwargs, expected):
    assert refusal(build_model, *args, **kwargs).startswith(expected)


def test_parse_json_names_its_source():
    assert refusal(parse_json, "{", "upload").startswith("upload: malformed JSON at line 1")
