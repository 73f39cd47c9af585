"""What a plain (non-editable) install ships: every package of the library, and the recipes."""

from __future__ import annotations

import configparser
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_setup_cfg_lists_every_package():
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "setup.cfg"))
    listed = set(config["options"]["packages"].split())
    found = {
        os.path.relpath(folder, ROOT).replace(os.sep, ".")
        for folder, _, files in os.walk(os.path.join(ROOT, "keras_ae"))
        if "__init__.py" in files
    }
    assert found | {"keras_ae.recipes"} == listed
    assert "keras_ae.recipes = recipes" in config["options"]["package_dir"]
