"""Layers tab: one design's stage table and per-layer table, to follow the tensor shapes by hand.

The per-layer table is the analysers' own (the analytic plan, checked against the built module), shown
with shapes as ``C×H×W`` and a search box, in forward order. On page load it shows the first design.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr
import pandas as pd

from arch_lab import analyse
from arch_lab.analysis.tables import LAYER_COLUMNS, STAGE_COLUMNS
from arch_lab.ui.guard import handler
from arch_lab.ui.state import DesignSet
from arch_lab.ui.views import escape_markdown, layers_view, stages_view

PRIVATE = {"api_visibility": "private", "show_progress": "hidden"}
EMPTY_STAGES = stages_view(pd.DataFrame(columns=STAGE_COLUMNS))
EMPTY_LAYERS = layers_view(pd.DataFrame(columns=LAYER_COLUMNS))


def build(designs: gr.State, load: Callable[..., Any]) -> None:
    """Lay out the Layers tab; ``load`` (the app's ``demo.load``) fills it when the page opens."""
    pick = gr.Dropdown(label="Design", choices=[], value=None, info="one of the designs in the comparison")
    summary = gr.Markdown("Add designs on the **Design** tab to see their layers.")
    stages = gr.Dataframe(value=EMPTY_STAGES, label="Stages", interactive=False, wrap=False,
                          elem_id="stages-table")
    layers = gr.Dataframe(value=EMPTY_LAYERS, label="Layers", interactive=False, wrap=False, max_height=560,
                          show_search="search", pinned_columns=1, elem_id="layers-table")

    gr.on([designs.change, load], _keep_pick, [designs, pick], pick, **PRIVATE).then(
        show, [designs, pick], [summary, stages, layers], **PRIVATE)
    pick.input(show, [designs, pick], [summary, stages, layers], **PRIVATE)


@handler
def _keep_pick(ds: DesignSet, current: str | None) -> Any:
    names = list(ds.names)
    return gr.Dropdown(choices=names, value=current if current in names else (names[0] if names else None))


@handler
def show(ds: DesignSet, name: str | None) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """The picked design's summary line, stage table and layer table."""
    if not name or name not in ds.names:
        return "Add designs on the **Design** tab to see their layers.", EMPTY_STAGES, EMPTY_LAYERS
    report = analyse(ds.get(name))
    c, h, w = report.spec.in_channels, *report.input_size
    line = (f"**{escape_markdown(name)}**: input {c}×{h}×{w} → {len(report.layers)} layers, "
            f"{report.params:,} parameters, {report.macs:,} MACs. Shapes are N×C×H×W for a batch of one; "
            "MACs count conv and linear multiply-accumulates.")
    return line, stages_view(report.stages), layers_view(report.layers)
