"""What the command lines print for ``--help``: plain text from docstrings, defaults shown, the command as typed.

Docstrings are written for Sphinx (````code````, ``:mod:`x```); a terminal shows them without that markup.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

__all__ = ["HelpFormatter", "plain", "prog"]

_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def plain(text: str | None) -> str:
    """Return ``text`` without reStructuredText roles and literals (``:mod:`~a.b``` -> ``b``, ````x```` -> ``x``)."""
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1] if "~" in m.group(0) else m.group(1), text or "")
    return _LITERAL.sub(r"\1", text)


def prog(module: str, script: str | None = None) -> str:
    """Return how the user typed the command: ``script`` (an installed command) or ``python -m module``."""
    typed = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if script is not None and typed == script:
        return script
    if typed == f"{module.rsplit('.', 1)[-1]}.py" or script is None:
        return f"python -m {module}"
    return script


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keep the description's paragraphs and show each option's default, unless it is None or False."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if "%(default)" in text or default is None or default is False or default is argparse.SUPPRESS:
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else "%(default)s"
            return f"{text} (default: {shown})"
        return text
