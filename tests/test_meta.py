"""datasette's two meta-tests: every hook is documented, every hook has a test."""

import re

import pytest

from syncd import hookspecs

from .conftest import REPO

HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("register_"))


def test_there_are_hooks():
    assert len(HOOKS) >= 6


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook):
    docs = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert re.search(rf"^### {hook}\(", docs, re.MULTILINE), f"docs/plugins.md lacks ### {hook}("


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook):
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "tests").glob("test_*.py"))
    assert f"def test_hook_{hook}(" in tests, f"no test named test_hook_{hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_one_line_docstring(hook):
    doc = getattr(hookspecs, hook).__doc__ or ""
    assert doc and "\n" not in doc.strip()
