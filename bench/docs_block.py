"""Rewrite one marked block of a file (docs/benchmarks.md, README.md) in place, so a bench's table never drifts
from its last run and the text around it stays the author's."""

from __future__ import annotations

import os


def replace_block(path: str, start: str, end: str, block: str, append: bool = False) -> bool:
    """Put `block` (which carries the `start` and `end` markers itself) where the markers stand in `path`,
    through a temporary file renamed into place. Without the markers: appended when `append`, else nothing is
    written and False is returned."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    elif append:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    else:
        return False
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    return True
