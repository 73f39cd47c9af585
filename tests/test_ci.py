"""CI runs exactly the README's test command, and that command runs the whole suite in parallel."""

from __future__ import annotations

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_ci_runs_the_readme_test_command():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as f:
        ci = f.read()
    (command,) = re.findall(r'pip install -e "\.\[test\]" && (python3 -m pytest[^\n]*)', readme)
    assert command.strip() in ci.splitlines(), (command, ci)
    assert "-m " not in command.replace("python3 -m pytest", "")  # no marker filter: every test runs
