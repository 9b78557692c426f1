"""The public API: ``/compare``, ``/analyse`` and ``/explore``, also usable from the app's API tab.

``/compare`` and ``/analyse`` take JSON text: ``/compare`` a list whose items are preset names or spec
objects, ``/analyse`` one such item. ``/explore`` takes a built-in space name or a space as JSON text and
runs within the Explore tab's caps (:mod:`arch_lab.ui.explore_panel`). A string item is looked up
among the presets (or built-in spaces) only, never opened as a path. Every bad input comes back as
``gr.Error`` carrying the ``SpecError`` text, which ``gradio_client`` raises as ``AppError`` with that
message. The plain functions are called directly by the tests, without a server.
"""

from __future__ import annotations

import re
from typing import Any

import gradio as gr
import pandas as pd

from arch_lab import SpecError, analyse, check_limits, compare, list_presets, load_preset
from arch_lab.spec import ResNetSpec, parse_json
from arch_lab.ui import explore_panel
from arch_lab.ui.compute import reports_of
from arch_lab.ui.exports import write_comparison_csv
from arch_lab.ui.guard import handler
from arch_lab.ui.state import MAX_ANALYSIS_BATCH, MAX_DESIGNS, MAX_TEXT_CHARS, DesignSet, checked_int

BARE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
EXAMPLE_LIST = '["resnet18", "resnet50", {"name": "r18-deeper", "depths": [3, 4, 6, 3]}]'
EXAMPLE_ITEM = '{"name": "r18-wide", "depths": [2, 2, 2, 2], "widths": [96, 192, 384, 768]}'


def parse_item(item: Any, where: str = "design") -> ResNetSpec:
    """A preset name (string) or a spec object (JSON object) -> a validated spec within the limits."""
    try:
        if isinstance(item, str):
            spec = load_preset(item)
        elif isinstance(item, dict):
            spec = ResNetSpec.from_dict(item)
        else:
            raise SpecError(where, f"a {type(item).__name__} is neither a preset name nor a spec object")
        check_limits(spec)
        return spec
    except SpecError as exc:
        if where == "design":
            raise
        raise type(exc)(where, str(exc)) from None  # a LimitError stays one


def parse_designs(text: str) -> list[ResNetSpec]:
    """``'["resnet18", {...}]'`` -> specs, with names made unique; errors say which item is wrong."""
    items = parse_json(text, "designs", max_chars=MAX_TEXT_CHARS)
    if not isinstance(items, list) or not items:
        raise SpecError("designs", "expected a non-empty JSON list of preset names or spec objects, "
                                   f"e.g. {EXAMPLE_LIST}")
    if len(items) > MAX_DESIGNS:
        raise SpecError("designs", f"{len(items)} designs given; at most {MAX_DESIGNS} per request")
    specs = [parse_item(item, f"designs[{i}]") for i, item in enumerate(items)]
    return list(DesignSet.of(specs).designs)


def compare_designs(designs: str) -> tuple[pd.DataFrame, str]:
    """The library's comparison table (ratios against the first design) and its CSV file."""
    df = compare(reports_of(parse_designs(designs)), baseline=0)
    return df, write_comparison_csv(df)


def analyse_design(design: str, batch_size: Any = 1) -> dict[str, Any]:
    """The report of one design for ``batch_size`` images as JSON. A bare preset name (``resnet18``) is
    accepted unquoted. Any batch up to the library's ``max_batch_size`` is answered: analysis is arithmetic.

    The length cap comes first, whatever the text looks like."""
    batch_size = checked_int("batch_size", batch_size, 1, MAX_ANALYSIS_BATCH)
    if isinstance(design, str) and len(design) > MAX_TEXT_CHARS:
        raise SpecError("design", f"{len(design):,} characters is too long; at most {MAX_TEXT_CHARS:,}")
    text = design.strip() if isinstance(design, str) else design
    item = text if isinstance(text, str) and BARE_NAME.match(text) else parse_json(
        text, "design", max_chars=MAX_TEXT_CHARS)
    return analyse(parse_item(item), batch_size=batch_size).to_dict()


def explore_space(space: str, n: Any, seed: Any = 0, constraints: str = "",
                  objectives: str = "") -> tuple[pd.DataFrame, str]:
    """A seeded random exploration within the app's caps -> the designs (Pareto first, per-stage lists as
    JSON text) and the CSV file of ``ExploreResult.to_csv``."""
    result = explore_panel.run_bounded(space, n, seed, constraints, objectives)
    return explore_panel.flat_table(result), explore_panel.write_csv(result)


PUBLIC_ENDPOINTS = ("compare", "analyse", "explore")
"""The only events callable by name (``/gradio_api/call/<name>``); see :mod:`arch_lab.ui.guard`."""


@handler
def api_compare(designs: str) -> tuple[pd.DataFrame, str]:
    return compare_designs(designs)


@handler
def api_analyse(design: str, batch_size: Any = 1) -> dict[str, Any]:
    return analyse_design(design, batch_size)


@handler(title="Not a valid exploration")
def api_explore(space: str, n: Any, seed: Any, constraints: str, objectives: str) -> tuple[pd.DataFrame, str]:
    return explore_space(space, n, seed, constraints, objectives)


def build() -> None:
    """The API tab: how to call the endpoints, and a form for each that calls the very same function."""
    gr.Markdown(API_HELP.format(presets=", ".join(list_presets())))
    with gr.Row(equal_height=False):
        with gr.Column():
            gr.Markdown("#### `/compare`")
            designs = gr.Textbox(label="designs (JSON list)", value=EXAMPLE_LIST, lines=3, max_length=MAX_TEXT_CHARS)
            go_compare = gr.Button("Run /compare")
            table = gr.Dataframe(label="comparison (full precision)", interactive=False, max_height=300)
            csv = gr.File(label="comparison.csv")
        with gr.Column():
            gr.Markdown("#### `/analyse`")
            design = gr.Textbox(label="design (preset name or spec JSON)", value=EXAMPLE_ITEM, lines=3,
                                max_length=MAX_TEXT_CHARS)
            # no widget rounding or bounds: the handler refuses 2.5 or 0 with a message naming the field
            analysis_batch = gr.Number(label=f"batch size (1 to {MAX_ANALYSIS_BATCH:,})", value=1)
            go_analyse = gr.Button("Run /analyse")
            report = gr.JSON(label="report", max_height=420)
    gr.Markdown("#### `/explore`")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            space = gr.Textbox(label="space (a built-in name or space JSON)", value="cifar-resnet-depth", lines=2,
                               max_length=explore_panel.MAX_SPACE_CHARS)
            with gr.Row():
                n = gr.Number(label="n", value=20, precision=0, minimum=1, maximum=explore_panel.MAX_N)
                seed = gr.Number(label="seed", value=0, precision=0, minimum=0, maximum=explore_panel.MAX_SEED)
            constraints = gr.Textbox(label="constraints (one per line)", value="params<=1e6", lines=2,
                                     max_length=explore_panel.MAX_CRITERIA_CHARS)
            objectives = gr.Textbox(label="objectives (one per line)", value="min:params\nmax:macs", lines=2,
                                    max_length=explore_panel.MAX_CRITERIA_CHARS)
            go_explore = gr.Button("Run /explore")
        with gr.Column(scale=2):
            designs_table = gr.Dataframe(label="designs", interactive=False, max_height=300, wrap=False)
            designs_csv = gr.File(label="explore.csv")
    go_compare.click(api_compare, designs, [table, csv], api_name="compare",
                     api_description="Compare designs: a JSON list of preset names or spec objects -> the "
                                     "comparison table (ratios against the first) and its CSV file.")
    go_analyse.click(api_analyse, [design, analysis_batch], report, api_name="analyse",
                     api_description="Analyse one design (a preset name or a spec object as JSON) for a batch of "
                                     f"images (1 to {MAX_ANALYSIS_BATCH:,}; default 1) -> its report.")
    go_explore.click(api_explore, [space, n, seed, constraints, objectives], [designs_table, designs_csv],
                     api_name="explore", **explore_panel.CONCURRENCY,
                     api_description=f"Explore a design space (a built-in name or space JSON) with seeded random "
                                     f"sampling: n (at most {explore_panel.MAX_N:,}), seed, constraints and "
                                     "objectives one per line -> the designs table and its CSV file.")


API_HELP = """\
### Use the lab from Python
Three named endpoints work with [`gradio_client`](https://www.gradio.app/guides/getting-started-with-the-python-client):

```python
from gradio_client import Client

client = Client("http://127.0.0.1:7860/")          # or the Space's name, e.g. "user/arch-lab"
table, csv_path = client.predict('["resnet18", {{"name": "r18-deeper", "depths": [3, 4, 6, 3]}}]',
                                 api_name="/compare")
report = client.predict("resnet50", api_name="/analyse")          # batch 1; add 256 for a batch of 256
print(table["headers"][:5], report["params"], report["macs"])
designs, designs_csv = client.predict("resnet50-neighbourhood", 200, 0, "3e9<=macs<=5e9", "min:params\nmax:macs",
                                      api_name="/explore")
```

`/compare` returns the table as `{{"headers": [...], "data": [[...]]}}` and a CSV file path; `/analyse` returns
the report as JSON (counts, memory, per-stage and per-layer tables). Invalid input raises
`gradio_client.exceptions.AppError` with the spec error, e.g. `depths[1]: 0 is too small; expected an integer >= 1`.
At most {max_designs} designs per request. Presets: {presets}.

`/explore` takes a built-in space name ({spaces}) or a space as JSON text, the number of designs, a seed,
constraints and objectives (one per line, e.g. `3e9<=macs<=5e9`, `min:params`), and returns the designs
(Pareto ones first; per-stage fields as JSON text) and `explore.csv`. Its caps are the Explore tab's: {caps}
""".replace("{max_designs}", str(MAX_DESIGNS)).replace("{caps}", explore_panel.CAPS).replace(
    "{spaces}", ", ".join(f"`{name}`" for name in explore_panel.list_spaces()))
