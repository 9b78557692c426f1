"""The Gradio app: a thin layer over the library (the only package that imports gradio).

:func:`build_app` lays out the tabs around two per-session states, the design set and the latency
results; each tab module wires its own events. :func:`launch` applies the settings a public Space needs:
loopback unless ``GRADIO_SERVER_NAME`` says otherwise, an upload size cap, a bounded queue, no monitoring
endpoint, no error details beyond our own messages, one log line per refused request, and only
``/compare``, ``/analyse`` and ``/explore`` callable by name (see :mod:`arch_lab.ui.guard`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing is fetched or reported at run time

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from arch_lab.ui import api, compare_panel, design_panel, explore_panel, latency_panel, layers_panel  # noqa: E402
from arch_lab.ui.guard import GuardedBlocks, PublicRoutesOnly  # noqa: E402
from arch_lab.ui.state import DEFAULT_DESIGNS, default_designs  # noqa: E402

TITLE = "ResNet Architecture Lab"
QUEUE_MAX_SIZE = 64
"""Waiting requests beyond this are refused ("queue full") instead of piling up on a small Space."""
LAUNCH_SETTINGS = {
    "max_file_size": "1mb",  # design sets are a few KB
    "state_session_capacity": 256,  # sessions kept (~0.2 MB each + last inputs); least recently used go
    "enable_monitoring": False,  # no /monitoring endpoints
    "show_error": False,  # only gr.Error messages (our SpecError texts) reach users
    "run_history": False,
    "footer_links": ["api", "gradio", "settings"],
}
CSS = """
/* width 100%: otherwise the container takes its content's width (up to the max), and one wide table or
   chart makes a phone-width page pan sideways */
.gradio-container { width: 100% !important; max-width: min(1400px, 100vw) !important; margin: auto; }
#spec-status p { margin: 0.2em 0; }
#spec-status.invalid p, #spec-status.invalid strong { color: var(--error-text-color) !important; }
#spec-status.valid p, #spec-status.valid strong { color: #15803d !important; }
.hint p { font-size: 0.85em; color: var(--body-text-color-subdued); }
/* Until the chart library has drawn the first chart (it loads when the Compare tab is first shown),
   say so instead of leaving blank boxes. */
#charts-loading { padding: 0.5em 1em; border-radius: 6px; background: var(--block-background-fill); }
.gradio-container:has(#stage-breakdown .js-plotly-plot) #charts-loading { display: none; }
/* Phone width: nothing may widen the page (flex items default to min-width: auto, so one wide table or
   chart widened every ancestor); wide tables and charts scroll inside their own box instead. Plain rules,
   no media query: gradio's CSS scoping drops rules nested in @media. */
.gradio-container, .gradio-container .main, .gradio-container .wrap, .gradio-container main,
.gradio-container .form, .gradio-container .tabs, .gradio-container .tabitem,
.gradio-container .tab-wrapper { min-width: 0 !important; max-width: 100%; }
/* Columns and blocks keep gradio's own min-width, min(N px, 100%): never wider than the page, and narrow
   enough that a row wraps them one under the other on a phone instead of squeezing them side by side. */
.gradio-container .column, .gradio-container .block { max-width: 100%; }
/* A row's run of fields is one .form box: it keeps a block's min-width too, else a phone squeezed it (and
   the fields in it) to a 67-px strip that showed "2" of 224 and cut labels to "analysi". */
.gradio-container .row > .form { min-width: min(160px, 100%) !important; }
/* gradio gives a checkbox no min-width (it ignores min_width): its label wrapped a word a line and spilled */
#explore-known { min-width: min(240px, 100%) !important; }
.gradio-container .row { flex-wrap: wrap !important; }
.gradio-container .js-plotly-plot, .gradio-container .plot-container { max-width: 100% !important; }
"""
INTRO = f"""\
# {TITLE}
Design ResNet-family networks, see every layer's shape, parameters and MACs, time them on this machine,
and compare designs side by side. The comparison starts with {" and ".join(DEFAULT_DESIGNS)} (the first is the
baseline); on **Design**, pick a preset, change any field and add it, or remove what you do not need.
"""


def build_app() -> GuardedBlocks:
    """The whole app; each browser session gets its own design set (starting with the default designs,
    which the tabs draw on page load) and latency results."""
    with GuardedBlocks(title=TITLE, delete_cache=(600, 600)) as demo:
        designs = gr.State(default_designs())
        latency = gr.State({})
        gr.Markdown(INTRO)
        app_wide = design_panel.build_globals()
        with gr.Tabs() as tabs:
            with gr.Tab("Design", id="design"):
                design_panel.build(designs, tabs, demo.load, app_wide)
            with gr.Tab("Compare", id="compare"):
                compare_panel.build(designs, latency, demo.load)
            with gr.Tab("Layers", id="layers"):
                layers_panel.build(designs, demo.load)
            with gr.Tab("Latency", id="latency") as latency_tab:
                latency_panel.build(designs, latency, latency_tab)
            with gr.Tab("Explore", id="explore"):
                explore_panel.build(designs)
            with gr.Tab("API", id="api"):
                api.build()
    # api_open=False: the direct /run and /api routes would bypass the queue and its size cap
    demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=2, api_open=False)
    return demo


def launch(demo: gr.Blocks, **overrides: object) -> tuple:
    """``demo.launch`` with the app's settings; ``overrides`` (e.g. ``prevent_thread_lock``) win.

    Host and port come from ``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT`` (a Space sets them), else
    127.0.0.1 and the first free port from 7860.
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("arch_lab").setLevel(logging.INFO)  # one line per refused request
    settings = {"server_name": os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                "theme": gr.themes.Soft(primary_hue="indigo", secondary_hue="blue"), "css": CSS,
                "app_kwargs": {"middleware": [Middleware(PublicRoutesOnly, public=api.PUBLIC_ENDPOINTS,
                                                         events=demo.fns.keys, joined=joined_sessions(demo))]},
                **LAUNCH_SETTINGS, **overrides}
    return demo.launch(**settings)


def joined_sessions(demo: gr.Blocks) -> Callable[[str], bool]:
    """Whether a session has joined ``demo``'s queue: gradio 6.31 keeps a queue of messages per such session
    (``_queue.pending_messages_per_session``); without that attribute every session counts as joined, and
    gradio answers as it would."""
    def joined(session: str) -> bool:
        sessions = getattr(getattr(demo, "_queue", None), "pending_messages_per_session", None)
        return sessions is None or session in sessions

    return joined
