"""Token-level reward views: each token of a completion coloured by its reward, steps marked.

Tokens come from the run's own tokenizer (``<run>/<checkpoint>/reward_model`` or ``policy``, loaded with
:func:`reasoning_irl.models.loading.load_tokenizer` and split by :func:`reasoning_irl.models.encoding.encode`
— the same partition the reward model scored), never from a hard-coded one. When the run folder holds no
tokenizer, the views use what ``samples.jsonl`` stores: each scored position's token text and character
span, so a segment runs from the previous scored position to this one.

Value of a token (``token_figures.value``): ``reward`` — the increment a scored position receives,
shown on every token of the segment it closes (for a dense reward each token is its own segment) — or
``score``, the prefix value at that position. Colours: a diverging colormap centred at 0 with one scale
(the largest |value|) shared by all views of a run.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from reasoning_irl.plots.load import iter_samples

CMAP = "RdBu"


@dataclass
class Token:
    text: str
    start: int
    end: int
    #: The colour value (reward or score of the token's segment); None: not scored (truncated).
    value: float | None
    reward: float | None
    score: float | None
    #: Index of the step holding the token (None: outside every step, e.g. a tag).
    step: int | None
    #: True for the token at a scored position.
    scored: bool
    #: A special token (EOS) without characters of its own; ``text`` is its name.
    special: bool = False
    #: The token ends a step: a boundary is drawn after it.
    step_end: bool = False
    colour: str = "#ffffff"


@dataclass
class TokenView:
    problem_id: str
    sample_idx: int
    correct: bool
    question: str
    sequence_score: float | None
    first_error_step: int | None
    predicted_first_error_step: int | None
    tokens: list[Token]
    #: ``tokenizer`` (the run's tokenizer) or ``scored positions`` (spans stored in samples.jsonl).
    token_source: str
    #: The row's steps: ``{"index", "start", "end", …}`` (character spans in the completion).
    steps: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def question_text(prompt: Any) -> str:
    """The last user message of a chat prompt (or the prompt text itself)."""
    if isinstance(prompt, str):
        return prompt
    users = [m.get("content", "") for m in prompt if isinstance(m, Mapping) and m.get("role") == "user"]
    return users[-1] if users else ""


def load_run_tokenizer(folders: Sequence[Path]) -> tuple[Any | None, str]:
    """The tokenizer saved in the run (reward model first, then policy); (None, reason) when there is none."""
    if not folders:
        return None, "the checkpoint holds no reward_model/ or policy/ tokenizer"
    from reasoning_irl.config.model import ModelConfig
    from reasoning_irl.models.loading import load_tokenizer

    return load_tokenizer(str(folders[0]), ModelConfig()), f"tokenizer of {folders[0]}"


def _tokenizer_spans(tokenizer: Any, row: Mapping[str, Any],
                     positions: Sequence[Mapping[str, Any]]) -> list[tuple[int, int, str, bool, int | None]]:
    """(start, end, text, special, index of the scored position closing the token's segment) per token."""
    from reasoning_irl.models.encoding import encode

    sample = encode(tokenizer, row["prompt"], row["completion"])
    spans, cursor = [], 0
    for i, (token_id, (start, end)) in enumerate(zip(sample.completion_ids, sample.completion_offsets)):
        while cursor < len(positions) and positions[cursor]["token_index"] < i:
            cursor += 1
        special = start == end and token_id in tokenizer.all_special_ids
        text = tokenizer.convert_ids_to_tokens(token_id) if special else row["completion"][start:end]
        spans.append((start, end, text, special, cursor if cursor < len(positions) else None))
    return spans


def _position_spans(row: Mapping[str, Any],
                    positions: Sequence[Mapping[str, Any]]) -> list[tuple[int, int, str, bool, int | None]]:
    """Segments between scored positions: each runs from the previous position's end to this one's."""
    completion, spans, prev = row["completion"], [], 0
    for k, p in enumerate(positions):
        if p["end"] > prev:
            spans.append((prev, p["end"], completion[prev:p["end"]], False, k))
            prev = p["end"]
        elif p["start"] == p["end"]:  # a special token (EOS) has no characters: shown by its name
            spans.append((p["start"], p["end"], p.get("token") or "<eos>", True, k))
    if prev < len(completion):  # past the last scored position (truncated): not scored
        spans.append((prev, len(completion), completion[prev:], False, None))
    return spans


def _aligned(spans: Sequence[tuple], positions: Sequence[Mapping[str, Any]]) -> bool:
    return all(p["token_index"] < len(spans) and tuple(spans[p["token_index"]][:2]) == (p["start"], p["end"])
               for p in positions)


def build_view(row: Mapping[str, Any], tokenizer: Any | None, value: str = "reward") -> tuple[TokenView, str | None]:
    """A :class:`TokenView` of a scored sample row, and a warning when the tokenizer disagrees with the row."""
    reward = row.get("reward") or {}
    positions = sorted(reward.get("positions") or [], key=lambda p: p["token_index"])
    warning, source, spans = None, "scored positions", None
    if tokenizer is not None:
        spans = _tokenizer_spans(tokenizer, row, positions)
        if _aligned(spans, positions):
            source = "tokenizer"
        else:
            warning = (f"{row.get('problem_id')}#{row.get('sample_idx')}: the run's tokenizer does not reproduce the "
                       "stored token spans; the view uses the scored positions instead")
            spans = None
    if spans is None:
        spans = _position_spans(row, positions)
    steps = row.get("steps") or []
    tokens: list[Token] = []
    for i, (start, end, text, special, k) in enumerate(spans):
        here = positions[k] if k is not None else None
        scored = here is not None and (source != "tokenizer" or here["token_index"] == i)
        step = next((s["index"] for s in steps if s["start"] <= max(start, end - 1) < s["end"]), None)
        tokens.append(Token(text=text, start=start, end=end, value=None if here is None else here.get(value),
                            reward=None if here is None else here.get("reward"),
                            score=None if here is None else here.get("score"), step=step, scored=scored,
                            special=special))
    for s in steps:
        inside = [t for t in tokens if t.step == s["index"]]
        if inside:
            inside[-1].step_end = True
    view = TokenView(problem_id=str(row.get("problem_id")), sample_idx=int(row.get("sample_idx", 0)),
                     correct=bool(row.get("correct")), question=question_text(row.get("prompt", "")),
                     sequence_score=reward.get("sequence_score"), first_error_step=row.get("first_error_step"),
                     predicted_first_error_step=row.get("predicted_first_error_step"), tokens=tokens,
                     token_source=source, steps=[{k: s[k] for k in ("index", "start", "end")} for s in steps])
    return view, warning


def select_pairs(path: Path, prompts: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Up to ``prompts`` (correct, wrong) row pairs, from the first problems (file order) that have both.

    Each pairs the problem's correct sample with the highest sequence score and its wrong sample with the
    lowest (the reference plots' choice). Two passes over the file keep only the chosen rows in memory.
    """
    by_problem: dict[str, list[tuple[int, bool, float]]] = {}
    for i, row in enumerate(iter_samples(path)):
        score = (row.get("reward") or {}).get("sequence_score")
        if score is None:
            continue
        by_problem.setdefault(str(row.get("problem_id")), []).append((i, bool(row.get("correct")), float(score)))
    wanted: list[tuple[int, int]] = []
    for samples in by_problem.values():
        correct = [s for s in samples if s[1]]
        wrong = [s for s in samples if not s[1]]
        if correct and wrong:
            wanted.append((max(correct, key=lambda s: (s[2], -s[0]))[0], min(wrong, key=lambda s: (s[2], s[0]))[0]))
        if len(wanted) == prompts:
            break
    needed = {i for pair in wanted for i in pair}
    rows = {i: row for i, row in enumerate(iter_samples(path)) if i in needed}
    return [(rows[a], rows[b]) for a, b in wanted]


def colour_views(views: Iterable[TokenView]) -> float:
    """Give every token its colour on one symmetric scale; returns the scale's limit (max |value|)."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize, to_hex

    views = list(views)
    values = [abs(t.value) for v in views for t in v.tokens if t.value is not None]
    limit = max(values) if values and max(values) > 0 else 1.0
    cmap, norm = colormaps[CMAP], Normalize(-limit, limit)
    for v in views:
        for t in v.tokens:
            t.colour = "#e0e0e0" if t.value is None else to_hex(cmap(norm(t.value)))
    return limit


def text_colour(background: str) -> str:
    """Black on light backgrounds, white on dark ones (hex colour)."""
    r, g, b = (int(background[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return "#ffffff" if 0.299 * r + 0.587 * g + 0.114 * b < 0.45 else "#000000"


# ------------------------------------------------------------------------------------------ figure

FONT_SIZE = 8.0
CHAR_W = 0.602 * FONT_SIZE  # DejaVu Sans Mono advance width, points
LINE_H = 1.75 * FONT_SIZE  # line pitch, points
MARGIN = 5  # characters of left margin for step numbers


def _layout(view: TokenView, width: int, steps: Sequence[Mapping[str, Any]] = ()
            ) -> tuple[list[tuple[int, int, str, Token]], dict[int, int], int]:
    """Place token pieces: (line, column, text, token); step → line where it starts; number of lines.

    A newline breaks the line; it is drawn as ``↵`` only in a token made of whitespace alone (a dense
    reward's newline token), which would otherwise be invisible.
    """
    pieces, line, col = [], 0, 0
    starts = {s["start"]: s["index"] for s in steps}
    step_lines: dict[int, int] = {}
    for token in view.tokens:
        blank = not token.text.strip()
        parts = [token.text] if token.special else token.text.split("\n")
        char = token.start
        for j, part in enumerate(parts):
            last = j == len(parts) - 1
            for offset in range(len(part) + 1):
                if char + offset in starts and starts[char + offset] not in step_lines:
                    step_lines[starts[char + offset]] = line + (1 if col + offset > width else 0)
            text = part if last or not blank else part + "↵"
            while text:
                if col + len(text) > width and col > 0:
                    line, col = line + 1, 0
                chunk, text = text[: width - col], text[width - col:]
                pieces.append((line, col, chunk, token))
                col += len(chunk)
            char += len(part) + 1
            if not last:
                line, col = line + 1, 0
    return pieces, step_lines, line + 1


def pair_figure(title: str, views: Sequence[TokenView], limit: float, width: int, value: str = "reward") -> Any:
    """One figure: the question, then each view's tokens as coloured boxes, and a shared colour bar."""
    import matplotlib.pyplot as plt
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    from reasoning_irl.plots.figures import style

    question = textwrap.wrap(views[0].question, width + MARGIN) or [""]
    blocks = [_layout(v, width, v.steps) for v in views]
    used = 1.5 + len(question) + sum(b[2] + 2.2 for b in blocks)  # lines of text, as placed below
    n_lines = used + 3.0  # and the colour bar
    fig_w, fig_h = (width + MARGIN + 2) * CHAR_W / 72, n_lines * LINE_H / 72
    with style():
        fig = plt.figure(figsize=(fig_w, fig_h))
        ax = fig.add_axes((0, 3 / n_lines, 1, used / n_lines))
        ax.set_xlim(-1, width + MARGIN + 1)
        ax.set_ylim(used, 0)
        ax.axis("off")
        mono = {"family": "DejaVu Sans Mono", "size": FONT_SIZE}
        ax.text(0, 0.5, title, fontsize=FONT_SIZE + 1, weight="bold", va="center")
        y = 1.5
        for q in question:
            ax.text(0, y, q, va="center", color="#333333", **mono)
            y += 1
        for view, (pieces, step_lines, lines) in zip(views, blocks):
            y += 0.7
            verdict = "correct" if view.correct else "wrong"
            score = "n/a" if view.sequence_score is None else f"{view.sequence_score:.3g}"
            truth = "none" if view.first_error_step is None else f"step {view.first_error_step}"
            pred = "none" if view.predicted_first_error_step is None else f"step {view.predicted_first_error_step}"
            ax.text(0, y, f"{verdict} sample #{view.sample_idx} — sequence score {score}; first wrong step: "
                          f"{truth} (predicted: {pred})", va="center", weight="bold", fontsize=FONT_SIZE,
                    color="#2ca02c" if view.correct else "#d62728")
            y += 1.2
            for step, line in step_lines.items():
                wrong = view.first_error_step is not None and step == view.first_error_step
                ax.text(MARGIN - 1, y + line, f"s{step}" + ("✗" if wrong else ""), ha="right", va="center",
                        color="#d62728" if wrong else "#888888", **{**mono, "size": FONT_SIZE - 1})
            last_piece = {id(token): i for i, (_, _, _, token) in enumerate(pieces)}
            for i, (line, col, chunk, token) in enumerate(pieces):
                x, top = MARGIN + col, y + line - 0.42
                ax.add_patch(Rectangle((x, top), len(chunk), 0.84, facecolor=token.colour,
                                       edgecolor="#333333" if token.scored else "#ffffff",
                                       lw=0.5 if token.scored else 0.8))
                ax.text(x, y + line, chunk, va="center", ha="left", color=text_colour(token.colour),
                        style="italic" if token.special else "normal", **mono)
                if token.step_end and last_piece[id(token)] == i:
                    ax.plot([x + len(chunk) + 0.12] * 2, [top - 0.1, top + 0.94], color="black", lw=1.2)
            y += lines + 0.3
        cax = fig.add_axes((0.25, 1.2 / n_lines, 0.5, 0.6 / n_lines))
        fig.colorbar(ScalarMappable(Normalize(-limit, limit), colormaps[CMAP]), cax=cax, orientation="horizontal",
                     label=f"token {value} (0 = white; scale ±{limit:.3g} shared by the run's views)")
        return fig
