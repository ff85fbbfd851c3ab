"""Granularities score exactly the positions they should (known offsets, then a real tokenizer)."""

import pytest

from reasoning_irl.models.encoding import encode
from reasoning_irl.rewards.positions import scored_positions, segment_ids, step_end_tokens, token_containing
from reasoning_irl.text.format import segment_steps


def _char_offsets(text: str, eos: bool = True) -> list[tuple[int, int]]:
    """One token per character (+ an EOS with the empty span at the end)."""
    return [(i, i + 1) for i in range(len(text))] + ([(len(text), len(text))] if eos else [])


TEXT = "<think>\nab\ncd\n</think>\n<answer>\n7\n</answer>"


def test_each_granularity_on_one_token_per_character():
    offsets = _char_offsets(TEXT)
    steps = segment_steps(TEXT)  # "ab", "cd", the answer block
    last = len(TEXT)  # the EOS
    assert scored_positions("sparse", offsets, steps) == [last]
    assert scored_positions("dense", offsets, steps) == list(range(last + 1))
    assert scored_positions("interval", offsets, steps, interval_tokens=15) == [14, 29, last]
    # step ends: "b" of "ab", "d" of "cd", ">" closing </answer>; and the last token (EOS)
    expected = [TEXT.index("ab") + 1, TEXT.index("cd") + 1, len(TEXT) - 1, last]
    assert scored_positions("step", offsets, steps) == expected
    assert [TEXT[i] for i in expected[:3]] == ["b", "d", ">"]


def test_multi_character_tokens_and_shared_step_ends():
    text = "x1\ny2"
    offsets = [(0, 3), (3, 5)]  # token 0 = "x1\n", token 1 = "y2"
    steps = segment_steps(text)  # no tags: the two lines
    assert step_end_tokens(offsets, steps) == [0, 1]
    assert scored_positions("step", offsets, steps) == [0, 1]
    assert token_containing(offsets, 2) == 0 and token_containing(offsets, 3) == 1
    assert token_containing(offsets, 5) == 2  # past the encoded text (e.g. truncated)


def test_truncated_steps_have_no_position_and_segments_cover_every_token():
    offsets = _char_offsets(TEXT, eos=False)[:12]  # cut after 12 characters
    steps = segment_steps(TEXT)
    assert step_end_tokens(offsets, steps) == [TEXT.index("ab") + 1, None, None]
    positions = scored_positions("step", offsets, steps)
    assert positions == [TEXT.index("ab") + 1, 11]
    assert segment_ids(positions, 12) == [0] * (positions[0] + 1) + [1] * (11 - positions[0])


def test_no_token_is_an_error():
    with pytest.raises(ValueError, match="no token to score"):
        scored_positions("step", [], [])


@pytest.mark.parametrize("completion", [
    "<think>\n3 + 4 = 7\n7 * 2 = 14\n</think>\n<answer>\n14\n</answer>",
    "<think>\nprix: 3 € × 2 = 6 €\n中文 步骤 = 2\némoji 🙂 ok\n</think>\n<answer>\n6 €\n</answer>",
])
def test_step_positions_on_the_tiny_tokenizer_inside_its_chat_template(tiny_tokenizer, completion):
    prompt = [{"role": "user", "content": "Start with 3."}]
    # the tiny ChatML template ends the prompt with "assistant\n": a trailing newline before the completion
    assert tiny_tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True).endswith("\n")
    encoded = encode(tiny_tokenizer, prompt, completion)
    steps = segment_steps(completion)
    positions = scored_positions("step", encoded.completion_offsets, steps)
    assert len(positions) == len(steps) + 1  # every step end, then the EOS
    assert positions[-1] == encoded.completion_length - 1
    ids = encoded.completion_ids
    assert ids[-1] == tiny_tokenizer.eos_token_id
    for step, t in zip(steps, positions):
        start, end = encoded.completion_offsets[t]
        assert start < step.end <= end  # the scored token holds the step's last character
        # and the decoded completion up to that token ends exactly with the step (multi-byte safe)
        assert tiny_tokenizer.decode(ids[: t + 1]).endswith(step.text)
        assert not tiny_tokenizer.decode(ids[:t]).endswith(step.text)
