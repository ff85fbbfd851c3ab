"""The completion format: rendering, answer extraction and step segmentation by character spans."""

from __future__ import annotations

import pytest

from reasoning_irl.text import extract_answer, format_completion, render_steps, segment_steps


def assert_spans_match(completion: str, spans) -> None:
    for span in spans:
        assert completion[span.start : span.end] == span.text
    assert [s.start for s in spans] == sorted(s.start for s in spans)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:]))


def test_format_completion_layout():
    text = format_completion(["7 + 5 = 12", " 12 * 3 = 36 "], " 36 ")
    assert text == "<think>\n7 + 5 = 12\n12 * 3 = 36\n</think>\n<answer>\n36\n</answer>"
    with pytest.raises(ValueError, match="spans several lines"):
        format_completion(["a\nb"], "1")
    with pytest.raises(ValueError, match="empty"):
        format_completion(["  "], "1")


def test_segmentation_spans_equal_their_text_and_answer_is_last():
    completion = format_completion(["7 + 5 = 12", "12 * 3 = 36"], "36")
    spans = segment_steps(completion)
    assert [s.text for s in spans] == ["7 + 5 = 12", "12 * 3 = 36", "<answer>\n36\n</answer>"]
    assert spans[-1].end == len(completion)
    assert_spans_match(completion, spans)


def test_blank_and_indented_lines():
    completion = "<think>\n\n  first  \n\n\tsecond\n</think>\n<answer> 3 </answer>"
    spans = segment_steps(completion)
    assert [s.text for s in spans] == ["first", "second", "<answer> 3 </answer>"]
    assert_spans_match(completion, spans)


def test_extract_answer_takes_the_last_block():
    assert extract_answer("<answer>1</answer> then <answer>\n 2 \n</answer>") == "2"
    assert extract_answer("no tags at all") is None
    assert extract_answer("<answer>unterminated") is None
    assert extract_answer("<answer></answer>") == ""


def test_completions_without_tags():
    assert [s.text for s in segment_steps("a\nb\n")] == ["a", "b"]  # no answer block: lines only
    completion = "a = 1\n<answer>1</answer>"
    assert [s.text for s in segment_steps(completion)] == ["a = 1", "<answer>1</answer>"]
    completion = "<think>\nstep one\nstep two"  # unterminated think: lines to the end
    assert [s.text for s in segment_steps(completion)] == ["step one", "step two"]
    completion = "junk\n</think>\n<answer>4</answer>"  # closing tag only: lines before it
    spans = segment_steps(completion)
    assert [s.text for s in spans] == ["junk", "<answer>4</answer>"]
    assert_spans_match(completion, spans)


def test_text_between_think_and_answer_is_not_a_step():
    completion = "<think>\nx\n</think>\nsome chatter\n<answer>1</answer>"
    assert [s.text for s in segment_steps(completion)] == ["x", "<answer>1</answer>"]


def test_empty_completion():
    assert segment_steps("") == []
    assert segment_steps("<think>\n</think>") == []
    assert extract_answer("") is None


def test_multibyte_characters_keep_exact_spans():
    completion = format_completion(["5 € × 3 = 15 €", "数学 ✓ 🙂 naïve"], "15 €")
    spans = segment_steps(completion)
    assert [s.text for s in spans[:2]] == ["5 € × 3 = 15 €", "数学 ✓ 🙂 naïve"]
    assert_spans_match(completion, spans)
    assert extract_answer(completion) == "15 €"


def test_crlf_line_ends():
    completion = "<think>\r\n7 + 5 = 12\r\n\r\n12 * 3 = 36\r\n</think>\r\n<answer>\r\n36\r\n</answer>"
    spans = segment_steps(completion)
    assert [s.text for s in spans] == ["7 + 5 = 12", "12 * 3 = 36", "<answer>\r\n36\r\n</answer>"]
    assert_spans_match(completion, spans)
    assert extract_answer(completion) == "36"


def test_given_steps_round_trip_with_newlines_and_repeats():
    steps = ["Step 1: x = 2.\nSo y = 3.", "  indented  ", "Step 1: x = 2.", "Final: **3**"]
    text, spans = render_steps(steps)
    assert text == "\n\n".join(steps)
    assert [s.text for s in spans] == steps
    assert_spans_match(text, spans)
    offsets, position = [], 0
    for step in steps:
        offsets.append((position, position + len(step)))
        position += len(step) + 2
    assert [(s.start, s.end) for s in spans] == offsets
    assert segment_steps(text, steps) == spans


def test_given_steps_must_be_in_the_text_in_order():
    with pytest.raises(ValueError, match="step 1"):
        segment_steps("first\n\nsecond", ["second", "first"])
    with pytest.raises(ValueError, match="step 0"):
        segment_steps("anything", [""])
