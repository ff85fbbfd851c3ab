"""Tables as data, rendered to Markdown, LaTeX and HTML from the same cells.

A :class:`Table` is built from ``metrics.json`` values (:mod:`reasoning_irl.plots.table_builders`) and
only then formatted; no table is ever produced by parsing another rendered table back (docs/METHOD.md §10
item 22). Values in [0, 1] (rates, AUROC, ECE, MAP) are shown in percent with their 95% bootstrap
interval: ``75.0 [60.0, 90.0]``; a gain is shown in percentage points with a sign.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasoning_irl.io import atomic_write_text


@dataclass(frozen=True)
class Cell:
    """One table cell: text, or a value (with an optional interval) and how to show it."""

    mean: float | None = None
    low: float | None = None
    high: float | None = None
    #: ``pct`` (×100, one decimal), ``delta`` (×100, signed, percentage points), ``int``, ``num``, ``text``.
    kind: str = "pct"
    text: str | None = None
    bold: bool = False

    @staticmethod
    def of(entry: Any, kind: str = "pct") -> Cell:
        """A cell from a metrics.json value: ``{"mean", "low", "high"}``, a number, or unavailable (n/a)."""
        if isinstance(entry, Mapping):
            if entry.get("available") is False or entry.get("mean") is None:
                return Cell(kind="na")
            return Cell(entry["mean"], entry.get("low"), entry.get("high"), kind)
        if isinstance(entry, (int, float)) and not isinstance(entry, bool):
            return Cell(float(entry), kind=kind)
        return Cell(kind="na")

    @staticmethod
    def label(text: str) -> Cell:
        return Cell(kind="text", text=text)

    def parts(self) -> tuple[str, str | None]:
        """(main text, interval text or None)."""
        if self.kind == "text":
            return self.text or "", None
        if self.kind == "na" or self.mean is None:
            return "n/a", None
        if self.kind == "int":
            return f"{int(self.mean)}", None
        if self.kind == "num":
            return f"{self.mean:.3g}", None
        scale = 100.0
        main = f"{scale * self.mean:+.1f}" if self.kind == "delta" else f"{scale * self.mean:.1f}"
        if self.low is None or self.high is None:
            return main, None
        return main, f"[{scale * self.low:.1f}, {scale * self.high:.1f}]"


@dataclass
class Table:
    """A titled grid: ``rows[i][j]`` is the cell of row i under ``columns[j]``."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""
    #: Row indices after which a horizontal rule separates groups.
    breaks: list[int] = field(default_factory=list)

    def add(self, cells: Sequence[Cell | str]) -> None:
        row = [c if isinstance(c, Cell) else Cell.label(str(c)) for c in cells]
        if len(row) != len(self.columns):
            raise ValueError(f"table {self.name}: a row of {len(row)} cells under {len(self.columns)} columns")
        self.rows.append(row)

    def group_break(self) -> None:
        if self.rows and (not self.breaks or self.breaks[-1] != len(self.rows) - 1):
            self.breaks.append(len(self.rows) - 1)

    def __bool__(self) -> bool:
        return bool(self.rows)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(table: Table) -> str:
    def fmt(cell: Cell) -> str:
        main, interval = cell.parts()
        text = f"{main} {interval}" if interval else main
        return f"**{_md_escape(text)}**" if cell.bold else _md_escape(text)

    lines = [f"### {table.title}", ""]
    lines.append("| " + " | ".join(_md_escape(c) for c in table.columns) + " |")
    lines.append("| " + " | ".join("---" if i == 0 else "---:" for i in range(len(table.columns))) + " |")
    for row in table.rows:
        lines.append("| " + " | ".join(fmt(c) for c in row) + " |")
    if table.note:
        lines += ["", table.note]
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
                  "→": r"$\rightarrow$", "±": r"$\pm$", "Δ": r"$\Delta$", "≤": r"$\leq$", "σ": r"$\sigma$",
                  "|": r"$|$", "<": r"$<$", ">": r"$>$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def to_latex(table: Table) -> str:
    """A ``table`` environment with a booktabs ``tabular`` (needs ``\\usepackage{booktabs}``)."""
    def fmt(cell: Cell) -> str:
        main, interval = cell.parts()
        text = latex_escape(main)
        if cell.bold:
            text = rf"\textbf{{{text}}}"
        return f"{text} {{\\scriptsize {latex_escape(interval)}}}" if interval else text

    spec = "l" + "r" * (len(table.columns) - 1)
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{latex_escape(table.title)}}}",
             rf"\label{{tab:{table.name.replace('_', '-')}}}", r"\small", rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(latex_escape(c) for c in table.columns) + r" \\", r"\midrule"]
    for i, row in enumerate(table.rows):
        lines.append(" & ".join(fmt(c) for c in row) + r" \\")
        if i in table.breaks and i != len(table.rows) - 1:
            lines.append(r"\midrule")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.note:
        lines.append(rf"\par\smallskip{{\footnotesize {latex_escape(table.note)}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def _th(column: str, first: Cell | None) -> str:
    cls = ' class="label"' if first is not None and first.kind == "text" else ""
    return f"<th{cls}>{html.escape(column)}</th>"


def to_html(table: Table) -> str:
    def fmt(cell: Cell) -> str:
        main, interval = cell.parts()
        text = html.escape(main)
        if interval:
            text += f' <span class="ci">{html.escape(interval)}</span>'
        cls = ' class="label"' if cell.kind == "text" else ""
        return f"<td{cls}><b>{text}</b></td>" if cell.bold else f"<td{cls}>{text}</td>"

    out = [f'<table class="results" id="table-{html.escape(table.name)}">',
           f"<caption>{html.escape(table.title)}</caption>",
           "<thead><tr>"
           + "".join(_th(c, table.rows[0][j] if table.rows else None) for j, c in enumerate(table.columns))
           + "</tr></thead><tbody>"]
    for i, row in enumerate(table.rows):
        cls = ' class="group-end"' if i in table.breaks else ""
        out.append(f"<tr{cls}>" + "".join(fmt(c) for c in row) + "</tr>")
    out.append("</tbody></table>")
    if table.note:
        out.append(f'<p class="note">{html.escape(table.note)}</p>')
    return "\n".join(out)


def write_table(table: Table, folder: Path) -> list[Path]:
    """``<folder>/<name>.md`` and ``<folder>/<name>.tex``."""
    paths = [folder / f"{table.name}.md", folder / f"{table.name}.tex"]
    atomic_write_text(paths[0], to_markdown(table))
    atomic_write_text(paths[1], to_latex(table))
    return paths
