import importlib.util
import subprocess
import sys

import pytest

from .conftest import REPO


def test_ruff_clean():
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_core_module_has_a_docstring():
    missing = []
    for path in sorted((REPO / "core").rglob("*.py")):
        if path.name == "__main__.py" or "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8").lstrip()
        if not text.startswith(('"""', "'''")) and text:
            missing.append(str(path.relative_to(REPO)))
    assert missing == [], f"modules without a docstring: {missing}"
    assert sys.version_info >= (3, 11)
