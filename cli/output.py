"""The CLI's consoles, the one place that decides how text reaches the terminal.

``soft_wrap``: messages name files, fields and pointers, which must not be broken across lines.
``emoji`` off: DTMIs are data, and ``dtmi:x:Y;1`` holds ``:x:``, which Rich would print as an emoji.
"""

from __future__ import annotations

from rich.console import Console

console = Console(soft_wrap=True, emoji=False)
err_console = Console(stderr=True, soft_wrap=True, emoji=False)
