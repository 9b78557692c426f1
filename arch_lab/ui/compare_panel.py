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
from arch_lab.columns import MEDIAN, RATIO_SUFFIX
from arch_lab.errors import SpecError
from arch_lab.latency.reliability import MARK, MIN_TIMED_CALLS, unreliable
from arch_lab.ui.compute import LatencyStore, comparison, csv_table, latency_frames, measured_columns, units_note
from arch_lab.ui.exports import write_comparison_csv
from arch_lab.ui.guard import handler
from arch_lab.ui.state import DesignSet
from arch_lab.ui.views import COLUMN_GROUPS, DEFAULT_GROUPS, PINNED_COLUMNS, comparison_view, escape_markdown

EMPTY_HINT = "Add designs on the **Design** tab; they appear here side by side."


def build(designs: gr.State, latency: gr.State, load: Callable[..., Any]) -> None:
    """Lay out the Compare tab; ``load`` (the app's ``demo.load``) fills it when the page opens."""
    note = gr.Markdown(EMPTY_HINT)
    empty = charts.empty_figure("Add designs to compare")
    columns = gr.CheckboxGroup(label="Columns", choices=[(f"{k}: {v}", k) for k, v in COLUMN_GROUPS.items()],
                               value=list(DEFAULT_GROUPS), elem_id="compare-columns",
                               info=f"the design name and the first {PINNED_COLUMNS - 1} metrics stay pinned")
    table = gr.Dataframe(value=comparison_view(pd.DataFrame()), label="Comparison",
                         interactive=False, wrap=False, pinned_columns=PINNED_COLUMNS, max_height=420,
                         buttons=["copy", "fullscreen"], elem_id="comparison-table")
    with gr.Row():
        csv = gr.DownloadButton("Download CSV", value=None, size="sm", scale=0, min_width=180)
        gr.Markdown(f"The CSV holds every column at full precision, with a `…{RATIO_SUFFIX}` ratio for each "
                    "metric.", elem_classes=["hint"])
    gr.Markdown(units_note(), elem_classes=["hint"], elem_id="compare-units")
    gr.Markdown("⏳ Drawing the charts… (the chart library loads the first time this tab is shown)",
                elem_id="charts-loading")
    bars = gr.Plot(value=empty, label="Parameters, MACs, latency", elem_id="metric-bars")
    scatter = gr.Plot(value=empty, label="MACs vs parameters (and vs latency)", elem_id="efficiency-scatter")
    stages = gr.Plot(value=empty, label="Per-stage parameters and MACs", elem_id="stage-breakdown")
    blocks = gr.Plot(value=empty, label="Parameters per block: basic vs bottleneck at equal width",
                     elem_id="block-params")
    curves = gr.Plot(value=charts.latency_curves({}), label="Latency and throughput vs batch size",
                     elem_id="compare-latency-curves")

    gr.on([designs.change, latency.change, load], refresh, [designs, latency, columns],
          [note, table, csv, bars, scatter, stages, blocks, curves], api_visibility="private",
          show_progress="minimal")
    columns.input(table_only, [designs, latency, columns], table, api_visibility="private", show_progress="hidden")


def checked_groups(groups: Any) -> list[str]:
    if not isinstance(groups, list) or not all(isinstance(g, str) and g in COLUMN_GROUPS for g in groups):
        raise SpecError("columns", f"choose among {', '.join(COLUMN_GROUPS)}")
    return groups


@handler
def table_only(designs: DesignSet, latency: LatencyStore, groups: Any) -> pd.DataFrame:
    """The table with the chosen column groups."""
    df, _ = comparison(designs, latency)
    return comparison_view(df, designs.baseline if len(designs) else None, checked_groups(groups),
                           measured_columns(designs, latency))


@handler
def refresh(designs: DesignSet, latency: LatencyStore, groups: Any = DEFAULT_GROUPS) -> tuple[Any, ...]:
    """Table, CSV path and every chart for the current set (empty placeholders when there is none)."""
    groups = checked_groups(list(groups))
    df, reports = comparison(designs, latency)
    measured = measured_columns(designs, latency)
    baseline = designs.baseline if len(designs) else None
    per = "image" if designs.batch_size == 1 else f"batch of {designs.batch_size} images"
    note = EMPTY_HINT if not len(designs) else (
        f"{len(designs)} design(s), counts per {per}; ratios (**×base**) are against the baseline "
        f"**{escape_markdown(baseline)}** — change it on the Design tab.")
    if any(unreliable(df, column.batch_size).any() for column in measured if column.metric == MEDIAN):
        note += (f" {MARK} marks a latency figure, and every ratio built on it, that rests on fewer than "
                 f"{MIN_TIMED_CALLS} timed calls or a wide spread: the Latency tab says what budget it needs.")
    csv = write_comparison_csv(csv_table(df, designs.designs, baseline)) if len(designs) else None
    return (note, comparison_view(df, baseline, groups, measured), csv,
            charts.metric_bars(df, baseline, measured), charts.efficiency_scatter(df, measured),
            charts.stage_breakdown(reports), charts.block_params(reports),
            charts.latency_curves(latency_frames(designs, latency)))
