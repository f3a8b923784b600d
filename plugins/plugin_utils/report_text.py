# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The report's text helpers, defined once: HTML escaping, Markdown cells and 'a, b and N more' lists.

plugin_utils.report_render (the run report) and plugin_utils.coverage_report (its client coverage section,
which report_render imports) both use them, so they live below both.
"""

from __future__ import annotations

import html
from typing import Any

# Items named in a one-line list before 'and N more'.
FIRST_FEW = 5


def esc(value: Any) -> str:
    """A value escaped for HTML text and attributes ('-' for None)."""
    return html.escape("-" if value is None else str(value), quote=True)


def cell(value: Any) -> str:
    """A Markdown table cell: '|' escaped, one line, and no raw HTML (a name or tag cannot inject markup)."""
    text = "-" if value is None else str(value)
    return html.escape(text, quote=False).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def first_few(items: list[str], where: str, limit: int = FIRST_FEW) -> str:
    """'a, b, c and 995 more (where)' for a long list; the list itself when short."""
    if len(items) <= limit:
        return ", ".join(items)
    return "%s and %d more (%s)" % (", ".join(items[:limit]), len(items) - limit, where)
