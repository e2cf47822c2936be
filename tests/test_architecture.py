"""The layers hold: core (and the command line) never import Qt or the GUI - an import-linter
contract in pyproject.toml, run here so the suite fails the moment one does."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess:
    lint = shutil.which("lint-imports")
    if lint is None:
        pytest.fail("import-linter is not installed: pip install -e '.[test]'")
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    return subprocess.run([lint, "--config", str(cwd / "pyproject.toml")], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_core_never_imports_qt():
    proc = _lint(ROOT, ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "core never imports Qt or the GUI KEPT" in proc.stdout


def test_the_contract_catches_a_qt_import_in_core(tmp_path):
    shutil.copytree(ROOT / "photoclip", tmp_path / "photoclip", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "photoclip" / "core" / "sneaky.py").write_text("from PySide6.QtCore import QObject\n")
    proc = _lint(tmp_path, tmp_path)
    assert proc.returncode != 0
    assert "photoclip.core.sneaky" in proc.stdout and "BROKEN" in proc.stdout
