"""The installed (non-editable) package must hold every module the source tree has."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _declared() -> tuple[set[str], dict[str, str]]:
    text = (ROOT / "pyproject.toml").read_text()
    packages = set(re.findall(r'"([\w.]+)"', re.search(r"^packages = \[(.*)\]", text, re.M).group(1)))
    dirs = dict(re.findall(r'^"([\w.]+)" = "([\w/]+)"', text, re.M))
    return packages, dirs


def test_every_source_package_is_declared():
    # CI installs with `pip install .`: a package missing from the list imports fine in an editable
    # checkout and fails everywhere else (it happened to truesight_video.media).
    packages, dirs = _declared()
    found = set()
    for name, folder in dirs.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            if "__pycache__" in rel.parts:
                continue
            found.add(".".join([name, *rel.parts]))
    assert found, "no packages found under the declared folders"
    assert found <= packages, f"not in pyproject.toml packages: {sorted(found - packages)}"
