"""The HTML report: one self-contained file (figures embedded as base64 PNG, inline CSS, no script,
nothing fetched), so it opens from disk in any browser. Token views are coloured spans that show the
token's reward, score and step on hover. The file depends only on its inputs (no clock, no absolute
paths), so the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reasoning_irl.io import atomic_write_text
from reasoning_irl.plots.tables import to_html
from reasoning_irl.plots.tokens import CMAP, text_colour

CSS = """
body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; margin: 24px auto;
       max-width: 1150px; color: #222; line-height: 1.45; padding: 0 16px; }
h1 { font-size: 1.6em; border-bottom: 2px solid #1f77b4; padding-bottom: 4px; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; }
nav ul { columns: 2; font-size: 0.9em; }
table.results { border-collapse: collapse; margin: 12px 0 4px; font-size: 0.85em; }
table.results caption { text-align: left; font-weight: bold; padding-bottom: 4px; }
table.results th, table.results td { padding: 3px 8px; border-bottom: 1px solid #e4e4e4; text-align: right; }
table.results th { background: #f3f6fa; border-bottom: 2px solid #aaa; }
table.results td.label, table.results th.label { text-align: left; }
table.results tr.group-end td { border-bottom: 2px solid #bbb; }
span.ci { color: #777; font-size: 0.85em; }
p.note { font-size: 0.8em; color: #555; margin-top: 2px; }
figure { margin: 14px 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #444; }
ul.messages { background: #fff8e5; border-left: 4px solid #f0b400; padding: 8px 8px 8px 28px; font-size: 0.85em; }
div.tokens { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; white-space: pre-wrap;
             line-height: 1.9; border: 1px solid #ddd; padding: 8px 10px; background: #fafafa; }
div.sample-head { font-size: 0.9em; font-weight: bold; margin-top: 10px; }
div.sample-head.correct { color: #1a7f1a; } div.sample-head.wrong { color: #c62828; }
span.tok { position: relative; border-radius: 3px; padding: 1px 0; }
span.tok.scored { box-shadow: inset 0 -2px 0 #333; }
span.tok.special { color: #666; font-style: italic; }
span.tok.step-end::after { content: "▏"; color: #000; font-weight: bold; }
span.tok:hover { outline: 2px solid #000; z-index: 2; }
span.tok:hover::before { content: attr(data-tip); position: absolute; left: 0; top: -2.1em; white-space: pre;
                         background: #222; color: #fff; font-size: 11px; padding: 2px 6px; border-radius: 3px;
                         z-index: 3; pointer-events: none; }
span.nl { color: #aaa; }
div.legend { display: flex; align-items: center; gap: 8px; font-size: 0.8em; margin: 6px 0; }
div.legend div.bar { width: 260px; height: 12px; border: 1px solid #999; }
p.question { font-style: italic; background: #f3f3f3; padding: 6px 10px; }
"""


@dataclass
class Section:
    title: str
    #: ("table", Table) | ("figure", png path, caption) | ("messages", [str]) | ("text", str)
    #: | ("tokens", run label, data from the tokens job, png paths)
    blocks: list[tuple] = field(default_factory=list)


def _anchor(title: str, i: int) -> str:
    return f"s{i}"


def _figure(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:+.4g}"


def _token_span(token: Mapping[str, Any], value_name: str) -> str:
    classes = ["tok"] + [c for c, on in (("scored", token["scored"]), ("special", token["special"]),
                                         ("step-end", token["step_end"])) if on]
    tip = (f"{value_name} {_fmt(token['value'])} · reward {_fmt(token['reward'])} · score {_fmt(token['score'])}"
           f" · step {'—' if token['step'] is None else token['step']} · {token['text']!r}")
    text = html.escape(token["text"])
    if not token["text"].strip():  # a whitespace-only token stays visible (and hoverable)
        text = text.replace("\n", '<span class="nl">↵</span>\n')
    style = f"background:{token['colour']};color:{text_colour(token['colour'])}"
    return (f'<span class="{" ".join(classes)}" style="{style}" title="{html.escape(tip)}" '
            f'data-tip="{html.escape(tip)}">{text}</span>')


def _legend(limit: float, value_name: str) -> str:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps[CMAP]
    stops = ", ".join(to_hex(cmap(i / 10)) for i in range(11))
    return (f'<div class="legend"><span>{-limit:.3g}</span><div class="bar" style="background:linear-gradient('
            f'to right, {stops})"></div><span>+{limit:.3g}</span><span>token {html.escape(value_name)} '
            "(0 = white; one scale for the run; underlined: scored position; ▏ end of a step; hover a token "
            "for its numbers)</span></div>")


def _tokens(label: str, data: Mapping[str, Any]) -> str:
    value_name = data["value"]
    out = [_legend(data["limit"], value_name)]
    for pair in data["pairs"]:
        out.append(f"<h3>Problem {html.escape(pair[0]['problem_id'])}</h3>")
        out.append(f'<p class="question">{html.escape(pair[0]["question"])}</p>')
        for view in pair:
            verdict = "correct" if view["correct"] else "wrong"
            score = "n/a" if view["sequence_score"] is None else f"{view['sequence_score']:.4g}"
            truth = "none" if view["first_error_step"] is None else f"step {view['first_error_step']}"
            pred = ("none" if view["predicted_first_error_step"] is None
                    else f"step {view['predicted_first_error_step']}")
            out.append(f'<div class="sample-head {verdict}">{verdict} sample #{view["sample_idx"]} — sequence score '
                       f"{score}; first wrong step: {truth} (predicted: {pred}); tokens from "
                       f"{html.escape(view['token_source'])}</div>")
            spans = "".join(_token_span(t, value_name) for t in view["tokens"])
            out.append(f'<div class="tokens">{spans}</div>')
    return "\n".join(out)


def _block(block: tuple) -> str:
    kind = block[0]
    if kind == "table":
        return to_html(block[1])
    if kind == "figure":
        return _figure(block[1], block[2])
    if kind == "messages":
        return '<ul class="messages">' + "".join(f"<li>{html.escape(m)}</li>" for m in block[1]) + "</ul>"
    if kind == "text":
        return f"<p>{html.escape(block[1])}</p>"
    if kind == "tokens":
        figures = "".join(_figure(p, f"Token view {i} (PNG/PDF beside the report)") for i, p in enumerate(block[3]))
        return f"<h3>Token-level rewards</h3>\n{_tokens(block[1], block[2])}\n<details><summary>as figures" \
               f"</summary>{figures}</details>"
    raise ValueError(f"unknown report block {kind!r}")


def render_html(title: str, sections: Sequence[Section]) -> str:
    body = [f"<h1>{html.escape(title)}</h1>", "<nav><ul>"]
    body += [f'<li><a href="#{_anchor(s.title, i)}">{html.escape(s.title)}</a></li>' for i, s in enumerate(sections)]
    body.append("</ul></nav>")
    for i, section in enumerate(sections):
        body.append(f'<section id="{_anchor(section.title, i)}"><h2>{html.escape(section.title)}</h2>')
        if not section.blocks:
            body.append("<p>Nothing to show.</p>")
        body += [_block(b) for b in section.blocks]
        body.append("</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def write_report(path: Path, title: str, sections: Sequence[Section]) -> Path:
    atomic_write_text(path, render_html(title, sections))
    return path
