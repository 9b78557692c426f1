"""Compare tab: the comparison table (ratios against the baseline), its CSV, and the charts.

Everything here is recomputed on page load (a session starts with the default designs) and whenever the
design set or the latency results change; the analysers are arithmetic and cached, so this takes
milliseconds. The CSV is written at that moment too, so the download button hands it out in one click.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr
import pandas as pd

from arch_lab import charts
from arch_lab.ui.compute import LatencyStore, comparison, latency_frames
from arch_lab.ui.exports import write_comparison_csv
from arch_lab.ui.guard import handler
from arch_lab.ui.state import DesignSet
from arch_lab.ui.views import comparison_view, escape_markdown

EMPTY_HINT = "Add designs on the **Design** tab; they appear here side by side."


def build(designs: gr.State, latency: gr.State, load: Callable[..., Any]) -> None:
    """Lay out the Compare tab; ``load`` (the app's ``demo.load``) fills it when the page opens."""
    note = gr.Markdown(EMPTY_HINT)
    empty = charts.empty_figure("Add designs to compare")
    table = gr.Dataframe(value=comparison_view(pd.DataFrame()), label="Comparison",
                         interactive=False, wrap=False, pinned_columns=1, max_height=420,
                         buttons=["copy", "fullscreen"], elem_id="comparison-table")
    with gr.Row():
        csv = gr.DownloadButton("Download CSV", value=None, size="sm", scale=0, min_width=180)
        gr.Markdown("The CSV holds every column at full precision, with a `…_vs_baseline` ratio for each "
                    "metric.", elem_classes=["hint"])
    bars = gr.Plot(value=empty, label="Parameters, MACs, latency", elem_id="metric-bars")
    scatter = gr.Plot(value=empty, label="MACs vs parameters (and vs latency)", elem_id="efficiency-scatter")
    stages = gr.Plot(value=empty, label="Per-stage parameters and MACs", elem_id="stage-breakdown")
    curves = gr.Plot(value=charts.latency_curves({}), label="Latency and throughput vs batch size",
                     elem_id="compare-latency-curves")

    gr.on([designs.change, latency.change, load], refresh, [designs, latency],
          [note, table, csv, bars, scatter, stages, curves], api_visibility="private", show_progress="minimal")


@handler
def refresh(designs: DesignSet, latency: LatencyStore) -> tuple[Any, ...]:
    """Table, CSV path and every chart for the current set (empty placeholders when there is none)."""
    df, reports = comparison(designs, latency)
    baseline = designs.baseline if len(designs) else None
    note = EMPTY_HINT if not len(designs) else (
        f"{len(designs)} design(s); ratios (**×base**) are against the baseline **{escape_markdown(baseline)}** "
        "— change it on the Design tab.")
    return (note, comparison_view(df, baseline), write_comparison_csv(df) if len(designs) else None,
            charts.metric_bars(df, baseline), charts.efficiency_scatter(df), charts.stage_breakdown(reports),
            charts.latency_curves(latency_frames(designs, latency)))
