"""HTML building blocks of the paper report: escaped tables, inline PNG figures, the page with its inline CSS.

Everything the page needs is in the file: CSS in a ``<style>`` element, figures as ``data:image/png;base64``
URIs, no script, no link to any server, so it opens offline and can be mailed or archived as one file.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt

__all__ = ["ABSENT", "Section", "absent", "figure", "note", "page", "png", "table"]

#: the words a section shows when the warehouse (or registry) has nothing for it yet
ABSENT = "not materialized yet"

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1250px;
       color: #1d1d1f; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 2px solid #d0d7de; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.86em; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f5f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.paper { background: #fff8e6; }
.absent { color: #8a6d00; background: #fff8e6; border-left: 4px solid #e0b000; padding: 0.3em 0.8em; }
.error { color: #a40e26; background: #ffebe9; border-left: 4px solid #cf222e; padding: 0.3em 0.8em; }
.note { color: #57606a; font-size: 0.88em; }
.pass { color: #116329; font-weight: 600; } .fail { color: #a40e26; font-weight: 600; }
.unresolved, .no-data { color: #8a6d00; font-weight: 600; }
figure { margin: 0.8em 0 1.2em; } figure img { max-width: 100%; border: 1px solid #eaeef2; }
figcaption { font-size: 0.85em; color: #57606a; }
nav ul { columns: 2; font-size: 0.9em; }
"""


@dataclass
class Section:
    """One section of the page: its title, body HTML and whether the warehouse had its data."""

    title: str
    anchor: str
    body: list[str] = field(default_factory=list)
    present: bool = False
    summary: list[str] = field(default_factory=list)  # Markdown lines for the Dagster metadata

    def add(self, *parts: str) -> None:
        self.body.extend(parts)

    def html(self) -> str:
        return f'<section id="{self.anchor}"><h2>{html.escape(self.title)}</h2>\n' + "\n".join(self.body) + "</section>"


def table(columns: Sequence[str], rows: Sequence[Sequence[object]], paper_columns: Sequence[str] = ()) -> str:
    """A table; cells are escaped, numbers right-aligned, ``paper_columns`` shaded (the papers' values)."""
    head = "".join(
        f'<th class="paper">{html.escape(c)}</th>' if c in paper_columns else f"<th>{html.escape(c)}</th>"
        for c in columns
    )
    body = []
    for row in rows:
        cells = []
        for column, value in zip(columns, row, strict=True):
            text = _cell(value)
            classes = [c for c in ("num" if _numeric(value) else "", "paper" if column in paper_columns else "") if c]
            if column == "verdict":
                classes.append(text.replace(" ", "-"))
            attribute = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attribute}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _numeric(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return "—" if value != value else f"{value:.3g}"  # NaN
    return str(value)


def png(fig: plt.Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (closed afterwards)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def figure(image: bytes, caption: str) -> str:
    """An inline PNG with its caption."""
    encoded = base64.b64encode(image).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(caption, quote=True)}" src="data:image/png;base64,{encoded}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def absent(what: str) -> str:
    """The placeholder of a section or sub-section without data: ``not materialized yet: <what>``."""
    return f'<p class="absent">{ABSENT}: {html.escape(what)}</p>'


def note(text: str, kind: str = "note") -> str:
    """A paragraph of explanation (``kind`` = ``note``) or a read error (``error``)."""
    return f'<p class="{kind}">{html.escape(text)}</p>'


def page(title: str, intro: Sequence[str], sections: Sequence[Section]) -> str:
    """The whole page: title, introduction paragraphs, table of contents and the sections."""
    toc = "".join(
        f'<li><a href="#{s.anchor}">{html.escape(s.title)}</a>{"" if s.present else " — " + ABSENT}</li>'
        for s in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        + "\n".join(f'<p class="note">{html.escape(p)}</p>' for p in intro)
        + f"\n<nav><ul>{toc}</ul></nav>\n"
        + "\n".join(s.html() for s in sections)
        + "\n</body></html>\n"
    )
