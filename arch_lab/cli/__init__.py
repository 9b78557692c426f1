"""``python -m arch_lab``: one sub-command module per concern, each with a ``register(subparsers)``.

Errors from bad input (``SpecError``, unreadable files) print one line and exit with status 2; an
unexpected error prints one line naming its type and exits with status 1. No traceback reaches the user.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from arch_lab.cli import analysis_commands, explore_commands, export_commands, latency_commands, spec_commands
from arch_lab.errors import SpecError

COMMAND_MODULES = [spec_commands, analysis_commands, latency_commands, export_commands, explore_commands]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m arch_lab", description="ResNet Architecture Lab")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except Exception as exc:  # a bug, not bad input: one line, no traceback (ARCH_LAB_DEBUG=1 re-raises)
        if os.environ.get("ARCH_LAB_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {str(exc)[:200]}", file=sys.stderr)
        return 1
