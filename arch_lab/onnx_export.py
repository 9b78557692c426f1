"""Export a built design to ONNX, for Netron, onnxruntime and the other tools people already use.

The exporter is torch's default, ``torch.export``-based one (``dynamo=True``, through onnxscript): the
legacy TorchScript exporter is about four times faster on these models but warns on every call that it
will be removed, and TorchScript itself is deprecated since torch 2.11. Its graph optimiser also folds
each eval-mode BatchNorm into the conv before it, so Netron shows the network as it runs (ResNet-50:
122 nodes instead of 450).

The batch axis is dynamic (``batch``); height and width are the design's input size, so Netron shows
every feature-map shape. A model's weights travel inside the ``.onnx`` protobuf, which cannot exceed
2 GiB; whether a design fits is decided from its parameter count before anything is built, and a larger
one is written with its weights in a side file (``<name>.onnx.data``) or, if the caller asks for a
single file, refused with a :class:`LimitError`.

torch, onnx and the builder are imported inside :func:`export_onnx`: importing this module (for the size
check, or by the app) should not cost torch's few seconds of start-up.

Tracing takes time in proportion to the graph (about 0.05 s a layer on a 2-core machine, and far more
for very deep graphs: 1,000 blocks ran for over 7 minutes), and a Python thread cannot be stopped, so
``timeout_s`` runs the export in a child process that is killed at the deadline (the child also gives
back every byte the trace took). The app bounds the graph's size first.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from arch_lab.errors import LimitError, SpecError
from arch_lab.limits import Limits
from arch_lab.plan import plan
from arch_lab.spec import ResNetSpec

if TYPE_CHECKING:
    from arch_lab.models import ResNet

OPSETS = range(18, 24)
"""The ai.onnx opsets torch 2.14's exporter writes: it translates at 18 and converts up to 23; asked for
another, it logs a failed conversion and silently keeps its own, so other values are refused up front."""
DEFAULT_OPSET = OPSETS[-1]
"""The newest opset the exporter targets (onnxruntime 1.32 runs it)."""
SINGLE_FILE_LIMIT_BYTES = 1536 * 2**20
"""Weights above this go to a side file: torch's own switch-over point (1.5 GiB), which leaves
headroom under protobuf's hard 2 GiB limit for the graph and the tensors' framing."""
INPUT_NAME, OUTPUT_NAME = "input", "logits"
EXAMPLE_BATCH = 2
"""The traced batch: torch.export specialises a batch of 1 to a constant, 2 stays symbolic."""
FP32_BYTES = 4


def weight_bytes(spec: ResNetSpec) -> int:
    """Bytes of fp32 tensors the exported file holds, from the layer plan (nothing is built).

    An upper bound: parameters plus each BatchNorm's running mean and variance (as many numbers as its
    affine weight and bias), as exported before the optimiser folds BatchNorm into the convs."""
    layers = plan(spec)
    bn_buffers = sum(layer.params for layer in layers if layer.type == "BatchNorm2d")
    return FP32_BYTES * (sum(layer.params for layer in layers) + bn_buffers)


def needs_external_data(spec: ResNetSpec) -> bool:
    """Whether ``spec``'s weights are too large for a single ``.onnx`` file (see SINGLE_FILE_LIMIT_BYTES)."""
    return weight_bytes(spec) > SINGLE_FILE_LIMIT_BYTES


def export_onnx(design: ResNetSpec | ResNet, path: str | Path, *, opset: int | None = None,
                external_data: bool | None = None, limits: Limits | None = None,
                timeout_s: float | None = None) -> Path:
    """Write ``design`` to ``path`` as an ONNX model checked with ``onnx.checker``; returns ``path``.

    ``design`` is a spec (built here with random weights, no download) or an already built
    :class:`~arch_lab.models.ResNet`, e.g. a trained one. The model is exported in eval mode; input
    ``input`` is ``(batch, in_channels, H, W)`` with a dynamic batch, output ``logits`` is
    ``(batch, num_classes)``.

    ``external_data``: ``None`` puts the weights in ``<path>.data`` only when they would not fit in one
    file, ``True`` always does, ``False`` never does and raises :class:`LimitError` for a design that
    does not fit, before anything is built. A spec is also checked against ``limits`` before it is built.
    ``timeout_s`` (a spec only) exports in a child process and raises :class:`LimitError` if it is not done
    within that many seconds.
    """
    spec = design if isinstance(design, ResNetSpec) else design.spec
    opset = DEFAULT_OPSET if opset is None else opset
    if opset not in OPSETS:
        raise SpecError("opset", f"{opset!r} is not allowed; torch's ONNX exporter writes opsets "
                                 f"{OPSETS[0]} to {OPSETS[-1]}")
    too_large = needs_external_data(spec)
    if too_large and external_data is False:
        raise LimitError(
            "external_data", f"{spec.name}'s weights take {weight_bytes(spec) / 1e9:.2f} GB as fp32, over the "
            f"{SINGLE_FILE_LIMIT_BYTES / 2**30:.1f} GiB a single .onnx file can hold (protobuf's limit is 2 GiB); "
            "export with external data (the weights go to a .onnx.data file next to it)")
    if timeout_s is not None:
        if not isinstance(design, ResNetSpec):
            raise SpecError("timeout_s", "a time bound needs a spec (a built module is not sent to a child process)")
        return _export_in_child(spec, Path(path), opset, external_data, limits, timeout_s)
    import onnx
    import torch

    from arch_lab.models import build_model

    model = build_model(spec, limits=limits) if isinstance(design, ResNetSpec) else design
    path = Path(path)
    example = torch.randn(EXAMPLE_BATCH, spec.in_channels, *spec.input_size)  # type: ignore[misc]
    was_training = model.training
    model.eval()
    try:
        program = torch.onnx.export(
            model, (example,), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            opset_version=opset, dynamo=True, verbose=False,
            dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    finally:
        model.train(was_training)
    program.save(path, external_data=too_large or bool(external_data))
    onnx.checker.check_model(str(path), full_check=True)  # by path: reads a .data side file too
    return path


def _export_in_child(spec: ResNetSpec, path: Path, opset: int, external_data: bool | None, limits: Limits | None,
                     timeout_s: float) -> Path:
    """:func:`export_onnx` in a fresh Python process running this very package, killed after ``timeout_s``
    seconds; the child's refusal comes back as the same exception (it checks the limits given here)."""
    request = {"spec": spec.to_dict(), "path": str(path), "opset": opset, "external_data": external_data,
               "limits": None if limits is None else dataclasses.asdict(limits)}
    root = str(Path(__file__).resolve().parent.parent)  # the child imports arch_lab from where this one did
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))}
    try:
        done = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(request), capture_output=True,
                              text=True, env=env, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise LimitError("timeout_s", f"exporting {spec.name} took more than {timeout_s:g} s and was stopped; "
                                      "export a design with fewer layers") from None
    lines = done.stdout.strip().splitlines()
    answer = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {
        "kind": "RuntimeError", "field": "export", "message": f"the export process ended with status "
                                                              f"{done.returncode}: {done.stderr.strip()[-300:]}"}
    if answer["kind"] == "done":
        return path
    if answer["kind"] in ("LimitError", "SpecError"):
        raise (LimitError if answer["kind"] == "LimitError" else SpecError)(answer["field"], answer["message"])
    raise RuntimeError(f"{answer['kind']}: {answer['message']}")


CHILD = "from arch_lab.onnx_export import child_main; child_main()"


def child_main() -> None:
    """The child of :func:`_export_in_child`: the request as JSON on stdin, one JSON line on stdout."""
    request = json.loads(sys.stdin.read())
    try:
        limits = None if request["limits"] is None else Limits(**request["limits"])
        export_onnx(ResNetSpec.from_dict(request["spec"]), request["path"], opset=request["opset"],
                    external_data=request["external_data"], limits=limits)
        answer = {"kind": "done"}
    except SpecError as exc:  # LimitError included: the parent raises it again
        answer = {"kind": type(exc).__name__, "field": exc.field, "message": str(exc).removeprefix(f"{exc.field}: ")}
    except Exception as exc:  # noqa: BLE001  (a failure of the exporter itself)
        answer = {"kind": type(exc).__name__, "field": "export", "message": str(exc)[:500]}
    print(json.dumps(answer))
