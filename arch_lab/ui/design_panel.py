"""Design tab: edit a spec (fields or JSON) with live validation, and manage the set being compared.

Every field edit re-validates the whole spec and shows the ``SpecError`` message under the form; adding an
invalid design also raises it as a toast. Handlers return a new :class:`DesignSet` into the session's
``gr.State``; the other tabs listen to its changes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from arch_lab.analysis import analyse
from arch_lab.errors import SpecError
from arch_lab.export import designs_from_json
from arch_lab.network import ACTIVATIONS, ANTI_ALIAS, AVD, NORMS, STEM_POOLS
from arch_lab.presets import list_presets, load_preset
from arch_lab.spec import BLOCKS, SHORTCUTS, STEMS, ResNetSpec, parse_json, read_text_file
from arch_lab.ui.compute import reports_of
from arch_lab.ui.exports import write_designs_json
from arch_lab.ui.form import FORM_FIELDS, NO_GROUP_WIDTH, form_to_spec, spec_to_form
from arch_lab.ui.guard import handler, refuse
from arch_lab.ui.published import published_for
from arch_lab.ui.state import INPUT_SIZE_RANGE, MAX_ANALYSIS_BATCH, MAX_DESIGNS, MAX_TEXT_CHARS, DesignSet, checked_int
from arch_lab.ui.views import designs_view, escape_markdown, text

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
        listed("group_width", f"RegNet (res_bottleneck): channels per group, per stage; {NO_GROUP_WIDTH} for other "
                              "stages, empty = none")
        listed("bottleneck_ratio", "RegNet: 3x3 width / stage width, one number or one per stage; 1 elsewhere")
    with gr.Row():
        integer("input_height", "input height")
        integer("input_width", "input width")
        integer("in_channels")
        integer("num_classes")
    with gr.Row():
        w["conv_bias"] = gr.Checkbox(value=form["conv_bias"], label="conv_bias (biased convs)")
        w["zero_init_residual"] = gr.Checkbox(value=form["zero_init_residual"], label="zero_init_residual")
    with gr.Accordion("timm's family: stem pool, attention, anti-aliasing, norms, pre-activation, forking blocks",
                      open=False, elem_id="family-fields"):
        _family_widgets(w, form, integer, choice)
    return w


def _family_widgets(w: dict[str, gr.components.Component], form: dict[str, Any], integer: Callable[..., None],
                    choice: Callable[..., None]) -> None:
    """The timm-family fields (README, "The spec"): each keeps its default unless the design uses it."""

    def optional(name: str, info: str) -> None:
        w[name] = gr.Number(value=form[name], label=name, info=info, precision=0)

    def check(name: str, label: str) -> None:
        w[name] = gr.Checkbox(value=form[name], label=label)

    with gr.Row():
        choice("stem_pool", [("stem's own", ""), *((pool, pool) for pool in STEM_POOLS)],
               info="conv: ResNet-RS; zero_pad_max: BiT")
        choice("attention", [("SE/none", ""), ("ECA", "eca")], info="SE when se_ratio > 0; ECA: se_ratio 0")
        integer("se_divisor", info="SE width: 1 torchvision round, 8 timm")
        choice("anti_alias", ANTI_ALIAS, info="avg: resnetaa, blur: resnetblur")
    with gr.Row():
        choice("norm", NORMS)
        optional("norm_groups", "GroupNorm groups (empty: 32)")
        optional("norm_group_width", "or channels per group")
        choice("activation", ACTIVATIONS)
    with gr.Row():
        choice("shortcut_kernel", [1, 3], info="3: SENet-154's projection")
        integer("reduce_first", info="SENet-154: 2")
        optional("head_width", "RegNetZ's head conv (empty: none)")
        check("linear_out", "linear_out (RegNetZ)")
    with gr.Row():
        check("preact", "preact (ResNetV2, BiT)")
        check("weight_standardization", "weight_standardization (BiT)")
        integer("radix", info="split_attention: ResNeSt")
        choice("avd", AVD, info="ResNeSt's avd pool")
    with gr.Row():
        integer("scales", info="res2net splits")
        w["sk_ratio"] = gr.Number(value=form["sk_ratio"], label="sk_ratio", step=0.0625, info="SKNet attention width")
        integer("sk_divisor", info="SKNet rounding")
        check("sk_split_input", "sk_split_input")


def build_globals() -> tuple[gr.Number, gr.Button, gr.Number]:
    """The app-wide controls above the tabs: one input size for every design, and the analysis batch size."""
    with gr.Row(elem_id="app-wide"):
        size = gr.Number(label="input size for all designs (px)", value=224, precision=0, minimum=INPUT_SIZE_RANGE[0],
                         maximum=INPUT_SIZE_RANGE[1], min_width=160, elem_id="global-input-size",
                         info="once applied, presets load at it too; until then each keeps its own (CIFAR: 32)")
        apply = gr.Button("Apply to all designs", size="sm", scale=0, min_width=160)
        batch = gr.Number(label="analysis batch size", value=1, precision=0, minimum=1, maximum=MAX_ANALYSIS_BATCH,
                          min_width=160, elem_id="analysis-batch", info="MACs and memory are for a batch this size")
    return size, apply, batch


def build(designs: gr.State, tabs: gr.Tabs, load: Callable[..., Any],
          app_wide: tuple[gr.Number, gr.Button, gr.Number]) -> None:
    """Lay out the Design tab and wire its events (all private: not part of the public API).

    ``load`` is the app's ``demo.load``: the design list is drawn on page load too, since a session starts
    with the default designs rather than an empty set. ``app_wide`` are :func:`build_globals`'s controls.

    The editor always says what it edits: a new design (after loading a preset; "Add" appends it) or a
    design of the comparison (after "Edit" or "Add"; "Update" replaces that one, and says so). "Update" is
    disabled while the editor holds a new design, so nothing is overwritten unseen.
    """
    global_size, apply_size, global_batch = app_wide
    start = load_preset(START_PRESET)
    editing = gr.State(None)
    pending = gr.State(None)
    """The design an Add, Update, Rename or Duplicate just made, for _refresh to select once the list is
    redrawn. A server-side state, so a redraw that races the change still finds it."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            gr.Markdown("### 1 · Edit a design")
            preset = gr.Dropdown(label="Start from preset", choices=list_presets(timm=True), value=START_PRESET,
                                 info="loads the preset into the editor as a new design, then change any field; "
                                      "type to search, timm:… for timm's ResNet family")
            target = gr.Markdown(editing_line(None), elem_id="editing-target")
            published = gr.Markdown(published_for(start), elem_id="published-accuracy",
                                    elem_classes=["hint"])
            with gr.Tabs():
                with gr.Tab("Fields"):
                    widgets = _field_widgets(spec_to_form(start))
                with gr.Tab("JSON"):
                    code = gr.Code(label="spec (JSON)", language="json", lines=16, value=start.to_json())
            status_line = gr.Markdown(status_markdown(start), elem_id="spec-status", elem_classes=["valid"])
            with gr.Row():
                add_btn = gr.Button("Add to comparison", variant="primary")
                update_btn = gr.Button("Update (no design loaded)", interactive=False, elem_id="update-button")
        with gr.Column(scale=2, min_width=300):
            gr.Markdown("### 2 · Designs in the comparison")
            listing = gr.Dataframe(value=_listing(DesignSet()), label="Designs", interactive=False,
                                   max_height=300)
            # custom values pass gradio's choice check: a _refresh sent before a rename lands after it with
            # the old name, which _refresh (not gradio) must handle, or the browser drops the next redraw
            selected = gr.Dropdown(label="Selected design", choices=[], value=None, allow_custom_value=True)
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
    spec_outputs = [*fields, code, status_line, published]

    def load_spec(spec: ResNetSpec) -> list[Any]:
        form = spec_to_form(spec)
        return [*(form[name] for name in FORM_FIELDS), spec.to_json(), status(spec), published_for(spec)]

    @handler
    def on_preset(ds: DesignSet, name: str) -> list[Any]:
        """A preset as a new design: at its own input size (a CIFAR ResNet's 32 px, an ImageNet one's 224),
        or at the app-wide input size once the user has applied one."""
        if not isinstance(name, str) or name not in list_presets(timm=True):
            raise SpecError("preset", "choose one of the listed presets")
        spec = load_preset(name)
        if ds.input_size is not None:
            spec = spec.replace(input_size=ds.input_size)
        return [*load_spec(spec), *editing_outputs(None)]

    @handler
    def on_fields(text: str, *values: Any) -> tuple[Any, ...]:
        """Validate the fields; rewrite the JSON only if it says something else (not while it is typed).
        The published accuracy stays only while the fields describe that preset's network."""
        try:
            spec = form_to_spec(dict(zip(FORM_FIELDS, values, strict=True)))
        except SpecError as exc:
            return gr.skip(), status(exc), ""
        try:
            same = editor_spec(text) == spec
        except SpecError:
            same = False
        return gr.skip() if same else spec.to_json(), status(spec), published_for(spec)

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
    def on_add(ds: DesignSet, *values: Any) -> tuple[Any, ...]:
        """Append the editor's design; the editor then edits it. A taken name is suffixed, and said so."""
        try:
            spec = edited_spec(values)
            new = ds.add(spec)
        except SpecError as exc:  # titled by what failed; the selection is left alone (it is not an output)
            raise refuse(f"Design not added — {str(exc)[:400]}",
                         title=f"Design not added: {str(exc.field)[:40]} is not valid") from None
        added = new.names[-1]
        if added != spec.name:
            gr.Warning(f"A design named “{spec.name}” is already in the comparison, so this one was added as "
                       f"“{added}”.", title="Added under a new name")
        return new, added, added, *editing_outputs(added)

    @handler
    def on_update(ds: DesignSet, name: Any, *values: Any) -> tuple[Any, ...]:
        """Replace the design the editor edits (never the list's selection) and say which."""
        if not name:
            raise refuse("The editor holds a new design: press “Add to comparison”, or select a design and press "
                         "“Edit” to change it", title="No design to update")
        if name not in ds.names:
            raise refuse(f"“{str(name)[:60]}” is no longer in the comparison; press “Add to comparison” to add "
                         "the editor's design", title="No design to update")
        spec = edited_spec(values)
        new = ds.update(name, spec)
        updated = new.names[ds.names.index(name)]
        renamed = f" (renamed to “{updated}”: “{spec.name}” is taken)" if updated != spec.name else ""
        gr.Info(f"Updated “{name}”{renamed}.", title="Design updated")
        return new, updated, updated, *editing_outputs(updated)

    edit_outputs = [editing, target, update_btn]
    preset.input(on_preset, [designs, preset], [*spec_outputs, *edit_outputs], **QUIET)
    # .change, not .input: gradio 6 fires a textbox's "input" on key presses only, missing paste and delete
    gr.on([w.change for w in fields], on_fields, [code, *fields], [code, status_line, published],
          trigger_mode="always_last", **QUIET)
    code.input(on_code, code, [*fields, status_line], trigger_mode="always_last", **QUIET)
    # the selection is set by _refresh (designs.change) from the editing target, so a failed Add or Update
    # shows its error on the status line only, never as an error badge on "Selected design"
    add_btn.click(on_add, [designs, *fields], [designs, widgets["name"], pending, *edit_outputs],
                  show_progress_on=[status_line], **PRIVATE)
    update_btn.click(on_update, [designs, editing, *fields], [designs, widgets["name"], pending, *edit_outputs],
                     show_progress_on=[status_line], **PRIVATE)

    @handler
    def on_rename(ds: DesignSet, name: str | None, new: str, edited: Any) -> tuple[Any, ...]:
        """Rename the selected design; if the editor edits it, the editor's name follows, so that a later
        "Update" keeps the new name instead of writing the old one back."""
        result = ds.rename(_required(ds, name), new)
        renamed = result.names[ds.names.index(name)]
        follow = [renamed, *editing_outputs(renamed)] if edited == name else [gr.skip()] * 4
        return result, renamed, "", *follow

    @handler
    def on_duplicate(ds: DesignSet, name: str | None) -> tuple[DesignSet, str]:
        result = ds.duplicate(_required(ds, name))
        return result, result.names[ds.names.index(name) + 1]

    @handler
    def on_edit(ds: DesignSet, name: str | None) -> list[Any]:
        name = _required(ds, name)
        return [*load_spec(ds.get(name)), *editing_outputs(name)]

    @handler
    def on_remove(ds: DesignSet, name: str | None) -> DesignSet:
        return ds.remove(_required(ds, name))

    @handler
    def on_baseline(ds: DesignSet, name: str | None) -> DesignSet:
        return ds.with_baseline(_required(ds, name))

    @handler
    def on_upload(ds: DesignSet, path: Any) -> DesignSet:
        """A saved design set: the same size, format and limit checks as the public API's."""
        if not isinstance(path, str):
            raise SpecError("file", "expected one uploaded JSON file")
        name = "".join(c for c in Path(path).name[:60] if c.isprintable())  # the upload's own name, not the path
        specs = designs_from_json(read_text_file(path, shown=name), source="design set")
        if len(specs) > MAX_DESIGNS:
            raise SpecError("designs", f"the file holds {len(specs)} designs; the app compares at most {MAX_DESIGNS}")
        new = DesignSet.of(specs).with_batch_size(ds.batch_size)
        reports_of(new.designs, new.batch_size)
        return new

    rename_btn.click(on_rename, [designs, selected, new_name, editing],
                     [designs, pending, new_name, widgets["name"], *edit_outputs], **PRIVATE)
    duplicate_btn.click(on_duplicate, [designs, selected], [designs, pending], **PRIVATE)
    remove_btn.click(on_remove, [designs, selected], designs, **PRIVATE)
    baseline_btn.click(on_baseline, [designs, selected], designs, **PRIVATE)
    edit_btn.click(on_edit, [designs, selected], [*spec_outputs, *edit_outputs], **QUIET)
    upload.upload(on_upload, [designs, upload], designs, **PRIVATE)
    gr.on([designs.change, load], _refresh, [designs, selected, pending, editing],
          [listing, selected, download, pending, *edit_outputs], **QUIET)

    @handler
    def on_apply_size(ds: DesignSet, size: Any) -> tuple[Any, ...]:
        """Every design, and the editor, at the app-wide input size."""
        size = checked_int("input size", size, *INPUT_SIZE_RANGE)
        return ds.with_input_size(size), size, size

    @handler
    def on_batch(ds: DesignSet, batch: Any) -> DesignSet:
        return ds.with_batch_size(batch)

    apply_size.click(on_apply_size, [designs, global_size],
                     [designs, widgets["input_height"], widgets["input_width"]], **PRIVATE)
    global_size.submit(on_apply_size, [designs, global_size],
                       [designs, widgets["input_height"], widgets["input_width"]], **PRIVATE)
    global_batch.change(on_batch, [designs, global_batch], designs, trigger_mode="always_last", **PRIVATE)
    compare_btn.click(lambda: gr.Tabs(selected="compare"), None, tabs, **QUIET)


def editor_spec(text: Any) -> ResNetSpec:
    """The JSON editor's spec: at most :data:`MAX_TEXT_CHARS` characters, validated."""
    return ResNetSpec.from_dict(parse_json(text, "JSON", max_chars=MAX_TEXT_CHARS))


def editing_line(name: str | None) -> str:
    """What the editor edits, in words."""
    if name is None:
        return "✎ Editing a **new design** — “Add to comparison” appends it; nothing in the comparison changes."
    return (f"✎ Editing **{escape_markdown(name)}** from the comparison — “Update” replaces it; "
            "“Add to comparison” adds a copy.")


def editing_outputs(name: str | None) -> list[Any]:
    """The editing state, its line and the Update button (named after the design it would replace)."""
    label = f"Update “{name}”" if name else "Update (no design loaded)"
    return [name, editing_line(name), gr.Button(value=label, interactive=name is not None)]


@handler
def _refresh(ds: DesignSet, selected: str | None, pending: Any = None, editing: Any = None) -> tuple[Any, ...]:
    """The list, the selection (a just-added or updated design, else kept if still there, else the last
    design), the design-set file, and the editing target (dropped if its design was removed)."""
    names = ds.names
    file = write_designs_json(ds.designs) if names else None
    if pending in names:
        selected = pending
    edit = editing_outputs(editing if editing in names else None) if editing not in names else [gr.skip()] * 3
    return (_listing(ds), _selection(ds, selected if selected in names else (names[-1] if names else None)), file,
            None, *edit)


def _selection(ds: DesignSet, name: str | None) -> Any:
    """The "Selected design" dropdown: choices and value must change together (gradio checks the value)."""
    return gr.Dropdown(choices=list(ds.names), value=name)


def _listing(ds: DesignSet) -> Any:
    reports = reports_of(ds.designs, ds.batch_size)
    return designs_view(ds.names, ds.baseline, [r.params for r in reports], [r.macs for r in reports],
                        [text(f"{r.input_size[0]}x{r.input_size[1]}") for r in reports])


def _required(ds: DesignSet, name: Any) -> str:
    """The selected design's name, which must be one of the set's."""
    if not name:
        raise refuse("Select a design in the list first")
    if name not in ds.names:
        raise SpecError("selected design", f"{str(name)[:60]!r} is not in the comparison")
    return name
