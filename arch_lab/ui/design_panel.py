"""Design tab: edit a spec (fields or JSON) with live validation, and manage the set being compared.

Every field edit re-validates the whole spec and shows the ``SpecError`` message under the form; adding an
invalid design also raises it as a toast. Handlers return a new :class:`DesignSet` into the session's
``gr.State``; the other tabs listen to its changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from arch_lab import SpecError, analyse, list_presets, load_preset
from arch_lab.export import designs_from_json
from arch_lab.spec import BLOCKS, SHORTCUTS, STEMS, ResNetSpec, parse_json, read_text_file
from arch_lab.ui.compute import reports_of
from arch_lab.ui.exports import write_designs_json
from arch_lab.ui.form import FORM_FIELDS, form_to_spec, spec_to_form
from arch_lab.ui.guard import handler, refuse
from arch_lab.ui.state import MAX_DESIGNS, MAX_TEXT_CHARS, DesignSet
from arch_lab.ui.views import designs_view, escape_markdown

START_PRESET = "resnet18"
PRIVATE = {"api_visibility": "private"}
QUIET = {"api_visibility": "private", "show_progress": "hidden"}


def status_markdown(spec_or_error: ResNetSpec | Exception) -> str:
    """One line under the form: the design's size when valid, else the error naming the field."""
    if isinstance(spec_or_error, Exception):
        return f"✗ **Not valid** — {escape_markdown(str(spec_or_error))}"
    report = analyse(spec_or_error)
    height, width = report.input_size
    return (f"✓ **Valid** — {report.params / 1e6:.2f} M parameters, {report.macs / 1e9:.3f} GMACs "
            f"at {height}×{width}")


def status(spec_or_error: ResNetSpec | Exception) -> gr.Markdown:
    """The status line as a component update, coloured by the ``valid``/``invalid`` CSS class."""
    try:
        text = status_markdown(spec_or_error)
    except SpecError as exc:  # valid, but beyond the request limits
        spec_or_error, text = exc, status_markdown(exc)
    kind = "invalid" if isinstance(spec_or_error, Exception) else "valid"
    return gr.Markdown(value=text, elem_classes=[kind])


def _field_widgets(form: dict[str, Any]) -> dict[str, gr.components.Component]:
    """The editor's widgets, labelled with the spec's field names so error messages point at them."""
    w: dict[str, gr.components.Component] = {}

    def integer(name: str, label: str | None = None, info: str | None = None) -> None:
        w[name] = gr.Number(value=form[name], label=label or name, info=info, precision=0)

    def listed(name: str, info: str) -> None:
        w[name] = gr.Textbox(value=form[name], label=name, info=info, max_length=200)

    def choice(name: str, choices: Any, **extra: Any) -> None:
        w[name] = gr.Dropdown(value=form[name], label=name, choices=list(choices), **extra)

    with gr.Row():
        w["name"] = gr.Textbox(value=form["name"], label="name", max_length=60, scale=2)
        choice("block", BLOCKS, allow_custom_value=True, info="or a list, one per stage")
        choice("stem", STEMS)
        choice("shortcut", SHORTCUTS)
    with gr.Row():
        listed("depths", "blocks per stage, e.g. 2, 2, 2, 2")
        listed("widths", "planes per stage")
        listed("strides", "1 or 2 per stage")
    with gr.Row():
        integer("groups", info="ResNeXt cardinality")
        integer("width_per_group", info="64 = ResNet, 128 = Wide")
        integer("stem_width")
        w["se_ratio"] = gr.Number(value=form["se_ratio"], label="se_ratio", step=0.0625,
                                  info="squeeze-excitation; 0 = off, SENet 0.0625")
    with gr.Row():
        integer("input_height", "input height")
        integer("input_width", "input width")
        integer("in_channels")
        integer("num_classes")
    with gr.Row():
        w["conv_bias"] = gr.Checkbox(value=form["conv_bias"], label="conv_bias (biased convs)")
        w["zero_init_residual"] = gr.Checkbox(value=form["zero_init_residual"], label="zero_init_residual")
    return w


def build(designs: gr.State, tabs: gr.Tabs, load: Callable[..., Any]) -> None:
    """Lay out the Design tab and wire its events (all private: not part of the public API).

    ``load`` is the app's ``demo.load``: the design list is drawn on page load too, since a session starts
    with the default designs rather than an empty set.
    """
    start = load_preset(START_PRESET)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            gr.Markdown("### 1 · Edit a design")
            preset = gr.Dropdown(label="Start from preset", choices=list_presets(), value=START_PRESET,
                                 info="loads the preset into the editor; then change any field")
            with gr.Tabs():
                with gr.Tab("Fields"):
                    widgets = _field_widgets(spec_to_form(start))
                with gr.Tab("JSON"):
                    code = gr.Code(label="spec (JSON)", language="json", lines=16, value=start.to_json())
            status_line = gr.Markdown(status_markdown(start), elem_id="spec-status", elem_classes=["valid"])
            with gr.Row():
                add_btn = gr.Button("Add to comparison", variant="primary")
                update_btn = gr.Button("Update selected design")
        with gr.Column(scale=2):
            gr.Markdown("### 2 · Designs in the comparison")
            listing = gr.Dataframe(value=_listing(DesignSet()), label="Designs", interactive=False,
                                   max_height=300)
            selected = gr.Dropdown(label="Selected design", choices=[], value=None)
            with gr.Row():
                new_name = gr.Textbox(label="New name", max_length=60, scale=3)
                rename_btn = gr.Button("Rename", scale=1)
            with gr.Row():
                edit_btn = gr.Button("Edit", size="sm")
                duplicate_btn = gr.Button("Duplicate", size="sm")
                baseline_btn = gr.Button("Make baseline", size="sm")
                remove_btn = gr.Button("Remove", size="sm", variant="stop")
            with gr.Row():
                upload = gr.UploadButton("Open design set (JSON)", file_types=[".json"], size="sm")
                download = gr.DownloadButton("Save design set (JSON)", value=None, size="sm")
            compare_btn = gr.Button("Compare ▸", variant="primary")

    fields = [widgets[name] for name in FORM_FIELDS]
    spec_outputs = [*fields, code, status_line]

    def load_spec(spec: ResNetSpec) -> list[Any]:
        form = spec_to_form(spec)
        return [*(form[name] for name in FORM_FIELDS), spec.to_json(), status(spec)]

    @handler
    def on_preset(name: str) -> list[Any]:
        return load_spec(load_preset(name))

    @handler
    def on_fields(text: str, *values: Any) -> tuple[Any, str]:
        """Validate the fields; rewrite the JSON only if it says something else (not while it is typed)."""
        try:
            spec = form_to_spec(dict(zip(FORM_FIELDS, values, strict=True)))
        except SpecError as exc:
            return gr.skip(), status(exc)
        try:
            same = editor_spec(text) == spec
        except SpecError:
            same = False
        return gr.skip() if same else spec.to_json(), status(spec)

    @handler
    def on_code(text: str) -> list[Any]:
        """Valid JSON updates the fields; invalid JSON only updates the message."""
        try:
            spec = editor_spec(text)
        except SpecError as exc:
            return [*(gr.skip() for _ in fields), status(exc)]
        form = spec_to_form(spec)
        return [*(form[name] for name in FORM_FIELDS), status(spec)]

    def edited_spec(values: tuple[Any, ...]) -> ResNetSpec:
        """The editor's design, valid and within the request limits (what the public API accepts)."""
        spec = form_to_spec(dict(zip(FORM_FIELDS, values, strict=True)))
        analyse(spec)
        return spec

    @handler
    def on_add(ds: DesignSet, *values: Any) -> tuple[DesignSet, Any]:
        new = ds.add(edited_spec(values))
        return new, _selection(new, new.names[-1])

    @handler
    def on_update(ds: DesignSet, name: str | None, *values: Any) -> tuple[DesignSet, Any]:
        spec = edited_spec(values)
        new = ds.update(_required(ds, name), spec)
        return new, _selection(new, new.names[ds.names.index(name)])

    preset.input(on_preset, preset, spec_outputs, **QUIET)
    # .change, not .input: gradio 6 fires a textbox's "input" on key presses only, missing paste and delete
    gr.on([w.change for w in fields], on_fields, [code, *fields], [code, status_line], trigger_mode="always_last",
          **QUIET)
    code.input(on_code, code, [*fields, status_line], trigger_mode="always_last", **QUIET)
    add_btn.click(on_add, [designs, *fields], [designs, selected], **PRIVATE)
    update_btn.click(on_update, [designs, selected, *fields], [designs, selected], **PRIVATE)

    @handler
    def on_rename(ds: DesignSet, name: str | None, new: str) -> tuple[DesignSet, Any, str]:
        result = ds.rename(_required(ds, name), new)
        return result, _selection(result, result.names[ds.names.index(name)]), ""

    @handler
    def on_duplicate(ds: DesignSet, name: str | None) -> tuple[DesignSet, Any]:
        result = ds.duplicate(_required(ds, name))
        return result, _selection(result, result.names[ds.names.index(name) + 1])

    @handler
    def on_edit(ds: DesignSet, name: str | None) -> list[Any]:
        return load_spec(ds.get(_required(ds, name)))

    @handler
    def on_remove(ds: DesignSet, name: str | None) -> DesignSet:
        return ds.remove(_required(ds, name))

    @handler
    def on_baseline(ds: DesignSet, name: str | None) -> DesignSet:
        return ds.with_baseline(_required(ds, name))

    @handler
    def on_upload(path: Any) -> DesignSet:
        """A saved design set: the same size, format and limit checks as the public API's."""
        if not isinstance(path, str):
            raise SpecError("file", "expected one uploaded JSON file")
        specs = designs_from_json(read_text_file(path), source="design set")
        if len(specs) > MAX_DESIGNS:
            raise SpecError("designs", f"the file holds {len(specs)} designs; the app compares at most {MAX_DESIGNS}")
        new = DesignSet.of(specs)
        reports_of(new.designs)
        return new

    rename_btn.click(on_rename, [designs, selected, new_name], [designs, selected, new_name], **PRIVATE)
    duplicate_btn.click(on_duplicate, [designs, selected], [designs, selected], **PRIVATE)
    remove_btn.click(on_remove, [designs, selected], designs, **PRIVATE)
    baseline_btn.click(on_baseline, [designs, selected], designs, **PRIVATE)
    edit_btn.click(on_edit, [designs, selected], spec_outputs, **QUIET)
    upload.upload(on_upload, upload, designs, **PRIVATE)
    gr.on([designs.change, load], _refresh, [designs, selected], [listing, selected, download], **QUIET)
    compare_btn.click(lambda: gr.Tabs(selected="compare"), None, tabs, **QUIET)


def editor_spec(text: Any) -> ResNetSpec:
    """The JSON editor's spec: at most :data:`MAX_TEXT_CHARS` characters, validated."""
    return ResNetSpec.from_dict(parse_json(text, "JSON", max_chars=MAX_TEXT_CHARS))


@handler
def _refresh(ds: DesignSet, selected: str | None) -> tuple[Any, Any, str | None]:
    """The list, the selection (kept if still there, else the last design) and the design-set file."""
    names = ds.names
    file = write_designs_json(ds.designs) if names else None
    return _listing(ds), _selection(ds, selected if selected in names else (names[-1] if names else None)), file


def _selection(ds: DesignSet, name: str | None) -> Any:
    """The "Selected design" dropdown: choices and value must change together (gradio checks the value)."""
    return gr.Dropdown(choices=list(ds.names), value=name)


def _listing(ds: DesignSet) -> Any:
    reports = reports_of(ds.designs)
    return designs_view(ds.names, ds.baseline, [r.params for r in reports], [r.macs for r in reports])


def _required(ds: DesignSet, name: Any) -> str:
    """The selected design's name, which must be one of the set's."""
    if not name:
        raise refuse("Select a design in the list first")
    if name not in ds.names:
        raise SpecError("selected design", f"{str(name)[:60]!r} is not in the comparison")
    return name
