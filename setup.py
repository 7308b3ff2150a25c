"""Maps the layout onto import names: core/ is `syncd`, plugins/<name>/ is `syncd_<name>`.

pyproject.toml holds the metadata; this file only walks the tree so that new subpackages
and plugin folders are packaged without editing a list.
"""

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent


def _packages(folder: Path, name: str) -> dict[str, str]:
    found = {}
    for init in sorted(folder.rglob("__init__.py")):
        rel = init.parent.relative_to(folder)
        dotted = ".".join((name, *rel.parts)) if rel.parts else name
        found[dotted] = init.parent.relative_to(ROOT).as_posix()
    return found


package_dir = _packages(ROOT / "core", "syncd")
for plugin in sorted((ROOT / "plugins").iterdir()):
    if (plugin / "__init__.py").exists():
        package_dir.update(_packages(plugin, f"syncd_{plugin.name}"))

setup(
    packages=sorted(package_dir),
    package_dir=package_dir,
    package_data={name: ["*.html", "*.css", "*.js", "*.j2", "*.tsv", "*.txt", "*.ini", "*.mako",
                         "py.typed"]
                  for name in package_dir},
    include_package_data=True,
)
