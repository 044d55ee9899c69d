"""Data strings shown in a terminal: control characters escaped, Rich markup made literal.

A file or zone name can hold escape sequences (``\\x1b[2J`` clears the screen, others rewrite
the title or fake output) and brackets that Rich reads as markup (``[v2]`` vanished from
``zones[v2].gpkg``). Everything the CLI prints that comes from data or from a user goes through
:func:`printable` (for Rich ``Text``) or :func:`literal` (inside a markup string).
"""

from __future__ import annotations

import re
from typing import Final

from rich.markup import escape

#: C0 and C1 control characters, DEL included, but not the newline and the tab.
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """``text`` with every control character written as its escape (``\\x1b``)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def literal(text: object) -> str:
    """:func:`printable` ``text`` with Rich markup escaped, to embed in a markup string."""
    return escape(printable(text))
