"""Prompts: a system prompt plus the question, as chat messages or as plain text for base models."""

from __future__ import annotations

DEFAULT_SYSTEM_PROMPT = (
    "A conversation between User and Assistant. The user asks a question and the Assistant solves it. "
    "The Assistant first thinks about the reasoning process step by step and then gives the answer. "
    "The reasoning and the answer are enclosed in <think> </think> and <answer> </answer> tags, "
    "respectively: <think> reasoning, one step per line </think><answer> answer </answer>."
)


def build_messages(question: str, system_prompt: str | None = DEFAULT_SYSTEM_PROMPT) -> list[dict[str, str]]:
    """Chat messages for a question: an optional system message, then the user's question."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": question})
    return messages


def messages_to_text(messages: list[dict[str, str]]) -> str:
    """Plain-text prompt for a model without a chat template (base models)."""
    parts = []
    for m in messages:
        parts.append(m["content"] if m["role"] == "system" else f"{m['role'].capitalize()}: {m['content']}")
    return "\n\n".join(parts) + "\n\nAssistant: "
