"""The layers hold: a lower layer never imports a higher one (README.md, "Layout").

Bottom to top: the configuration (mailsettings, config, runtime), core, smtp and emailview,
delivery, the features (forms, accounts, health, inbox, which never import each other), backoffice.
The contract itself is in pyproject.toml ([tool.importlinter]); this runs it, so CI does.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "postroom"
# Entry points and glue above every layer: they may import anything, nothing imports them
# (startup: what long-running commands do first).
OUTSIDE_THE_LAYERS = {"cli", "settings", "urls", "wsgi", "startup", "__init__"}


def layered_modules() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [contract] = config["tool"]["importlinter"]["contracts"]
    return {
        name.strip().removeprefix("postroom.")
        for layer in contract["layers"]
        for name in layer.split("|")
    }


def test_no_lower_layer_imports_a_higher_one(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    exit_code = lint_imports(no_cache=True, no_logo=True)
    assert exit_code == 0, capsys.readouterr().out


def test_every_part_of_postroom_has_its_place_in_a_layer():
    parts = {path.stem for path in PACKAGE.glob("*.py")} | {
        path.parent.name for path in PACKAGE.glob("*/__init__.py")
    }
    unplaced = parts - layered_modules() - OUTSIDE_THE_LAYERS
    assert not unplaced, f"add {sorted(unplaced)} to the layers in pyproject.toml"
