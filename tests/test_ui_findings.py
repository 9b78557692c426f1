"""Issue 9's UI findings that can be checked without a browser: each test fails on the code before the fix."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.app_fixtures import ROOT


def test_importing_the_app_does_not_import_torch():
    """Finding 11: the app starts without torch (the analysers are arithmetic); a page's first refresh too."""
    code = ("import sys, app\n"
            "from arch_lab.ui import compare_panel, layers_panel, design_panel\n"
            "from arch_lab.ui.state import default_designs\n"
            "ds = default_designs()\n"
            "compare_panel.refresh(ds, {}); layers_panel.show(ds, 'resnet18', 'resnet18'); design_panel._refresh(ds, None)\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout[-500:]
