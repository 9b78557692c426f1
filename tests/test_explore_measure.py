"""``measure_designs``: real measurements of tiny CIFAR designs, locally and on a local Ray instance (CPU).

Real models run on one thread: on a 2-core machine shared with other processes a 2-thread pool can be 100x
slower. Ray starts once for the module (a few seconds) and is given no GPU, so the CPU path runs everywhere.
"""

from __future__ import annotations

import math
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas
import pytest

from arch_lab import SpecError, load_preset
from arch_lab.explore.measure import COLUMNS, measure_designs

RESNET20 = load_preset("resnet20")  # 41 M MACs at 32x32
NARROW = RESNET20.replace(name="narrow", stem_width=8, widths=(8, 16, 32))  # 10 M
SHALLOW = RESNET20.replace(name="shallow", stem_width=8, widths=(8, 16, 32), depths=(1, 1, 1))  # 3 M
TOO_BIG = RESNET20.replace(name="too_big", depths=(400, 400, 400))  # 1,200 blocks: over the default limit
ROOT = Path(__file__).resolve().parents[1]


def test_local_rows_in_input_order_a_design_beyond_the_limits_is_an_error_row() -> None:
    seen: list[tuple[int, dict]] = []
    table = measure_designs([RESNET20, TOO_BIG, NARROW, SHALLOW], budget_s=0.3, threads=1,
                            on_result=lambda index, row: seen.append((index, row)))
    assert list(table.columns) == list(COLUMNS)
    assert [index for index, _ in seen] == [0, 1, 2, 3]  # serialised: completion order is input order
    pandas.testing.assert_frame_equal(pandas.DataFrame([row for _, row in seen]), table)
    assert "max_blocks" in table.error[1] and table.device[1] == "" and math.isnan(table.latency_ms[1])
    measured = table.drop(index=1)
    assert (measured.error == "").all() and measured.device.str.startswith("cpu (").all()
    assert (measured.latency_ms > 0).all() and (measured.throughput_img_s > 0).all()
    # each row is its own design's: 13x the MACs of SHALLOW is clearly slower
    assert table.latency_ms[0] > table.latency_ms[3]


def test_bad_options_are_refused_before_anything_runs() -> None:
    calls: list[int] = []
    with pytest.raises(SpecError, match="executor.*local, ray"):
        measure_designs([RESNET20], executor="dask", on_result=lambda index, row: calls.append(index))
    with pytest.raises(SpecError, match="budget_s"):
        measure_designs([RESNET20], budget_s=0, on_result=lambda index, row: calls.append(index))
    with pytest.raises(SpecError, match="item 1 is a dict"):
        measure_designs([RESNET20, RESNET20.to_dict()])
    assert calls == []


def test_the_local_path_needs_no_ray_and_the_ray_path_says_how_to_install_it() -> None:
    script = textwrap.dedent("""
        import sys
        sys.modules["ray"] = None  # any "import ray" now raises ImportError
        from arch_lab import SpecError, load_preset
        from arch_lab.explore.measure import measure_designs
        table = measure_designs([load_preset("resnet20")], budget_s=0.2, threads=1)
        assert table.error[0] == "" and table.latency_ms[0] > 0, table
        try:
            measure_designs([load_preset("resnet20")], executor="ray")
        except SpecError as exc:
            print(exc)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "executor: 'ray' needs the ray package, which is not installed; " \
                                  "pip install arch_lab[ray]"


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install arch_lab[ray])")
    ray.init(num_cpus=2, num_gpus=0, include_dashboard=False)
    yield ray
    ray.shutdown()


def test_ray_streams_rows_into_the_table_in_input_order(local_ray) -> None:
    seen: list[tuple[int, dict]] = []
    table = measure_designs([RESNET20, TOO_BIG, NARROW, SHALLOW], budget_s=0.3, executor="ray",
                            on_result=lambda index, row: seen.append((index, row)))
    assert sorted(index for index, _ in seen) == [0, 1, 2, 3]
    pandas.testing.assert_frame_equal(pandas.DataFrame([row for _, row in sorted(seen, key=lambda s: s[0])]), table)
    assert "max_blocks" in table.error[1] and math.isnan(table.latency_ms[1])
    measured = table.drop(index=1)
    assert (measured.error == "").all() and (measured.latency_ms > 0).all()
    assert measured.device.str.match(rf"cpu \(.*\) on {socket.gethostname()}$").all()
    assert table.latency_ms[0] > table.latency_ms[3]
    assert local_ray.is_initialized()  # a session it did not start is left running


def test_ray_refuses_what_the_cluster_cannot_run(local_ray) -> None:
    with pytest.raises(SpecError, match="no GPU"):
        measure_designs([RESNET20], executor="ray", device="cuda")
    with pytest.raises(SpecError, match="3 CPUs per task.*largest node.* 2"):
        measure_designs([RESNET20], executor="ray", threads=3)
