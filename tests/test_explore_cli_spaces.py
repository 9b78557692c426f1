"""Hostile space files are SpecErrors naming the field; ``python -m arch_lab explore`` exit codes and outputs."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from arch_lab import ResNetSpec, SpecError
from arch_lab.analysis import analyse
from arch_lab.cli import main
from arch_lab.explore import list_spaces, load_space, parse_space

GOOD_FIELDS = {"depths": {"range": [1, 4], "per_stage": True}}


@pytest.mark.parametrize("space, field", [
    ({"fields": GOOD_FIELDS, "colour": "red"}, "space.colour"),
    ({"fields": {"depths": {"range": [1, 4], "pre_stage": True}}}, "space.fields.depths.pre_stage"),
    ({"fields": {"depth": {"range": [1, 4]}}}, "space.fields.depth"),
    ({"fields": {"name": {"choices": ["a"]}}}, "space.fields.name"),
    ({"fields": {}}, "space.fields"),
    ({"fields": {"depths": {"range": [4, 1]}}}, "space.fields.depths.range"),
    ({"fields": {"depths": {"range": [1, 2.5]}}}, "space.fields.depths.range"),
    ({"fields": {"depths": {"range": [1, 10**30]}}}, "space.fields.depths.range[1]"),
    ({"fields": {"depths": {"range": [1, 4], "step": 0}}}, "space.fields.depths.step"),
    ({"fields": {"depths": {"range": [1, 4], "choices": [1]}}}, "space.fields.depths"),
    ({"fields": {"depths": {}}}, "space.fields.depths"),
    ({"fields": {"widths": {"log_uniform": [0, 64]}}}, "space.fields.widths.log_uniform"),
    ({"fields": {"widths": {"log_uniform": [8, 64], "quantum": 1e-300}}}, "space.fields.widths.quantum"),
    ({"fields": {"widths": {"log_uniform": [9, 15], "quantum": 16}}}, "space.fields.widths.quantum"),
    ({"fields": {"groups": {"choices": []}}}, "space.fields.groups.choices"),
    ({"fields": {"groups": {"choices": list(range(1000))}}}, "space.fields.groups.choices"),
    ({"fields": {"groups": {"choices": [[1, 2]]}}}, "space.fields.groups.choices[0]"),
    ({"fields": {"groups": {"choices": [{"a": 1}]}}}, "space.fields.groups.choices[0]"),
    ({"fields": {"depths": {"choices": [[[1]]]}}}, "space.fields.depths.choices[0][0]"),
    ({"fields": {"groups": {"choices": [1], "per_stage": True}}}, "space.fields.groups.per_stage"),
    ({"fields": {"depths": {"range": [1, 4], "per_stage": "yes"}}}, "space.fields.depths.per_stage"),
    ({"fields": GOOD_FIELDS, "base": "resnet5O"}, "space.base.preset"),
    ({"fields": GOOD_FIELDS, "base": {"depths": [0]}}, "space.base.depths[0]"),
    ({"fields": GOOD_FIELDS, "name": "x" * 41}, "space.name"),
    ({"fields": GOOD_FIELDS, "constraints": "macs<=4e9"}, "space.constraints"),
    ([1, 2], "space"),
])
def test_bad_spaces_name_the_field(space, field):
    with pytest.raises(SpecError) as info:
        parse_space(space)
    assert info.value.field == field


@pytest.mark.parametrize("text, match", [
    ("[" * 40_000 + "]" * 40_000, "nested"),
    ('{"fields": {"depths": {"range": [1, 1e400]}}}', "finite"),
    ('{"fields": {"depths": {"range": [1, ' + "9" * 5000 + "]}}}", "too long"),
    ('{"fields": {"depths": {"range": [1, NaN]}}}', "finite"),
    ('{"fields": ', "malformed JSON"),
])
def test_hostile_space_files_are_spec_errors(tmp_path, text, match):
    path = tmp_path / "space.json"
    path.write_text(text)
    with pytest.raises(SpecError, match=match):
        load_space(str(path))


def test_space_files_must_be_small_regular_files(tmp_path):
    big = tmp_path / "big.json"
    big.write_text(" " * 200_000)
    with pytest.raises(SpecError, match="bytes"):
        load_space(str(big))
    with pytest.raises(SpecError, match="not a regular file"):
        load_space("/dev/zero")
    with pytest.raises(SpecError, match="built-in spaces"):
        load_space("no-such-space")


def test_every_built_in_space_parses_and_says_where_it_comes_from():
    assert list_spaces() == sorted(["resnet50-neighbourhood", "resnet50-tricks", "cifar-resnet-depth", "anynetx-400mf",
                                   "anynetx-4gf", "regnetx-400mf", "regnetx-4gf"])
    for name in list_spaces():
        assert load_space(name).name == name


def test_cli_explore_writes_csv_and_json(tmp_path, capsys):
    csv, designs = tmp_path / "out.csv", tmp_path / "designs.json"
    code = main(["explore", "resnet50-neighbourhood", "--n", "15", "--seed", "2", "--constraint", "macs<=4e9",
                 "--objective", "min:params", "--objective", "max:macs", "--csv", str(csv), "--json", str(designs)])
    out = capsys.readouterr().out
    assert code == 0 and "15 designs of 15 requested" in out and "min:params, max:macs" in out
    table = pd.read_csv(csv)
    assert len(table) == 15 and (table["macs"] <= 4e9).all()
    data = json.loads(designs.read_text())
    specs = [ResNetSpec.from_dict(d["spec"]) for d in data["designs"]]
    assert [analyse(spec).macs for spec in specs] == table["macs"].tolist()
    assert [d["pareto"] for d in data["designs"]] == table["pareto"].tolist()
    assert all(name in out for name in table.loc[table["pareto"], "name"])  # the front is printed


def test_cli_same_seed_same_csv(tmp_path):
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for path in paths:
        assert main(["explore", "cifar-resnet-depth", "--n", "10", "--seed", "5", "--csv", str(path)]) == 0
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_cli_list_names_every_space(capsys):
    assert main(["explore", "--list"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == list_spaces()


@pytest.mark.parametrize("argv, field", [
    (["explore"], "space"),
    (["explore", "resnet50-neighbourhood", "--constraint", "speed<=3"], "constraints[0]"),
    (["explore", "resnet50-neighbourhood", "--objective", "params"], "objectives[0]"),
    (["explore", "resnet50-neighbourhood", "--method", "grid"], "method"),
    (["explore", "nowhere.json"], "file"),
    (["explore", "resnet50-neighbourhood", "--time-limit", "0"], "time_limit_s"),
])
def test_cli_bad_input_is_one_line_and_exit_2(argv, field, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {field}:")


def test_cli_grid_of_a_small_space_file(tmp_path, capsys):
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"name": "mine", "base": "resnet20", "fields": {"depths": {"range": [1, 3]}}}))
    assert main(["explore", str(space), "--method", "grid", "--objective", "min:params"]) == 0
    out = capsys.readouterr().out
    assert "3 designs from 3 tries" in out and "mine-0" in out  # only depth 1 is on the front


def test_cli_says_when_the_time_limit_stopped_a_run(capsys):
    assert main(["explore", "resnet50-neighbourhood", "--n", "100000", "--time-limit", "0.2"]) == 0
    captured = capsys.readouterr()
    assert "stopped early: the time limit of 0.2 s was reached after" in captured.out
    assert captured.err.startswith("note: only ") and "raise --time-limit or widen the space" in captured.err
