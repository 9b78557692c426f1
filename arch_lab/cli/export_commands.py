"""``export``: write a design's built model (random weights) to a file other tools open.

ONNX is the one format so far (``--onnx FILE``), opened by Netron and run by onnxruntime. The exporter is
imported only when the command runs, so the other commands do not pay for torch and onnx.
"""

from __future__ import annotations

import argparse

from arch_lab.cli.analysis_commands import input_size
from arch_lab.presets import resolve

EXTERNAL_DATA = {"auto": None, "always": True, "never": False}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="export a design's model (random weights) to ONNX")
    parser.add_argument("design", metavar="NAME_OR_FILE", help="a preset name or a spec JSON file")
    parser.add_argument("--onnx", metavar="FILE", required=True, help="the .onnx file to write")
    parser.add_argument("--opset", type=int, metavar="N", help="ai.onnx opset (default: the newest torch targets)")
    parser.add_argument("--input-size", metavar="N|HxW", help="input resolution (default: the design's own)")
    parser.add_argument("--external-data", choices=list(EXTERNAL_DATA), default="auto",
                        help="weights in a FILE.data side file: auto (only over the 2 GiB protobuf limit), "
                             "always, or never (refuse a design that does not fit in one file)")
    parser.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    from arch_lab.onnx_export import export_onnx, needs_external_data

    spec = resolve(args.design)
    if args.input_size:
        size = input_size(args.input_size)
        spec = spec.replace(input_size=list(size) if isinstance(size, tuple) else size)
    external = EXTERNAL_DATA[args.external_data]
    path = export_onnx(spec, args.onnx, opset=args.opset, external_data=external)
    if external or (external is None and needs_external_data(spec)):
        print(f"wrote {path} and its weights {path.name}.data (keep them in one folder)")
    else:
        print(f"wrote {path}")
    return 0
