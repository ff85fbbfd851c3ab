"""The completion format, answer extraction and step segmentation (character spans)."""

from reasoning_irl.text.format import (
    ANSWER_CLOSE,
    ANSWER_OPEN,
    THINK_CLOSE,
    THINK_OPEN,
    Span,
    extract_answer,
    format_completion,
    render_steps,
    segment_steps,
)
from reasoning_irl.text.prompts import DEFAULT_SYSTEM_PROMPT, build_messages, messages_to_text

__all__ = [
    "ANSWER_CLOSE",
    "ANSWER_OPEN",
    "DEFAULT_SYSTEM_PROMPT",
    "THINK_CLOSE",
    "THINK_OPEN",
    "Span",
    "build_messages",
    "extract_answer",
    "format_completion",
    "messages_to_text",
    "render_steps",
    "segment_steps",
]
