"""encode / collate: exact completion spans, multi-byte characters, truncation, both padding sides."""

from __future__ import annotations

import copy

import pytest
import torch

from reasoning_irl.models.encoding import collate, encode, encode_prompt, prompt_text, token_index_of_char
from reasoning_irl.text import build_messages, format_completion, messages_to_text, segment_steps

MESSAGES = build_messages("Start with 7. Add 5. Multiply by 3. What is the final number?")
ARITH = format_completion(["7 + 5 = 12", "12 * 3 = 36"], "36")
MULTIBYTE = format_completion(["Café costs 5 € (naïve guess)", "中文 step 😀 = 12", "12 * 3 = 36 👍🏽"], "36 😀")


def assert_partition(tokenizer, sample):
    """Spans are contiguous, join back to the completion, and each decodes to its own text."""
    spans = sample.completion_offsets
    assert len(spans) == sample.completion_length
    assert "".join(sample.completion[s:e] for s, e in spans) == sample.completion[: sample.covered_chars]
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])) and (not spans or spans[0][0] == 0)
    pending = []  # partial byte tokens of a character, decoded with the token that completes it
    for token_id, (s, e) in zip(sample.completion_ids, spans):
        pending.append(token_id)
        if s < e:
            assert tokenizer.decode(pending) == sample.completion[s:e]
            pending = []


@pytest.mark.parametrize("completion", [ARITH, MULTIBYTE, "\n" + ARITH, " é", "😀", ""])
def test_offsets_slice_the_completion_back_exactly(tiny_tokenizers, arch, completion):
    tok = tiny_tokenizers[arch]
    sample = encode(tok, MESSAGES, completion)
    assert sample.input_ids[: sample.prompt_length] == tok(prompt_text(tok, MESSAGES))["input_ids"]
    assert sample.input_ids[sample.prompt_length:-1] == tok(completion, add_special_tokens=False)["input_ids"]
    assert sample.input_ids[-1] == tok.eos_token_id and sample.has_eos and not sample.truncated
    assert sample.completion_offsets[-1] == (len(completion), len(completion))  # the appended EOS
    assert_partition(tok, sample)


def test_multibyte_characters_belong_to_the_token_that_completes_them(tiny_tokenizers):
    tok = tiny_tokenizers["qwen2"]
    sample = encode(tok, MESSAGES, "😀", append_eos=False)
    assert sample.completion_length == 4  # four UTF-8 bytes, no merge for them in a 512-entry vocab
    assert sample.completion_offsets == [(0, 0), (0, 0), (0, 0), (0, 1)]
    assert token_index_of_char(sample, 1) == 3


def test_separate_encoding_differs_from_joint_where_template_and_completion_merge(tiny_tokenizers):
    """Why "full length minus completion length" is wrong: a plain-text prompt ends with "Assistant: " and
    the pre-tokenizer merges that space with the completion's "<" when both are encoded together."""
    tok = copy.deepcopy(tiny_tokenizers["qwen2"])
    tok.chat_template = None
    text = prompt_text(tok, MESSAGES)
    assert text.endswith("Assistant: ")
    sample = encode(tok, MESSAGES, ARITH, append_eos=False)
    joint = tok(text + ARITH)["input_ids"]
    assert joint != sample.input_ids
    # Jointly, the token at the last prompt position is "Ġ<": it already holds the completion's first
    # character; separately, the prompt ends with "Ġ" and the completion starts with "<think".
    assert tok.convert_ids_to_tokens(joint[sample.prompt_length - 1]) == "Ġ<"
    assert tok.convert_ids_to_tokens(sample.input_ids[sample.prompt_length - 1:sample.prompt_length + 1]) == [
        "Ġ", "<think"]
    assert tok.decode(sample.completion_ids) == ARITH


def test_plain_text_prompt_without_chat_template(tiny_tokenizers):
    tok = copy.deepcopy(tiny_tokenizers["llama"])
    tok.chat_template = None
    assert prompt_text(tok, MESSAGES) == messages_to_text(MESSAGES)
    sample = encode(tok, MESSAGES, "<think>\n1 + 1 = 2")
    assert tok.decode(sample.input_ids[: sample.prompt_length]) == messages_to_text(MESSAGES)
    assert_partition(tok, sample)
    # A string prompt is taken as already formatted.
    assert encode(tok, "Q: 2 + 2?\nA:", " 4").input_ids == tok("Q: 2 + 2?\nA: 4")["input_ids"] + [tok.eos_token_id]


def test_bos_is_added_once_for_tokenizers_that_prepend_it(tiny_tokenizers):
    from tokenizers import processors

    tok = copy.deepcopy(tiny_tokenizers["llama"])
    tok.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="<|bos|> $A", special_tokens=[("<|bos|>", tok.bos_token_id)]
    )
    plain = tiny_tokenizers["llama"]("Q?", add_special_tokens=False)["input_ids"]
    assert encode_prompt(tok, "Q?") == [tok.bos_token_id, *plain]
    assert encode_prompt(tok, "<|bos|>Q?") == [tok.bos_token_id, *plain]  # template wrote it: no second BOS
    assert encode_prompt(tiny_tokenizers["llama"], "Q?") == plain  # the tiny tokenizer adds none


def test_eos_handling(tiny_tokenizers):
    tok = tiny_tokenizers["qwen2"]
    no_eos = encode(tok, MESSAGES, ARITH, append_eos=False)
    assert not no_eos.has_eos and no_eos.input_ids[-1] != tok.eos_token_id
    already = encode(tok, MESSAGES, ARITH + "<|im_end|>")
    assert already.has_eos and already.input_ids.count(tok.eos_token_id) == no_eos.input_ids.count(tok.eos_token_id) + 1
    assert already.completion_offsets[-1] == (len(ARITH), len(ARITH) + len("<|im_end|>"))


def test_truncation_cuts_the_completion_from_the_right_and_reports_it(tiny_tokenizers):
    tok = tiny_tokenizers["qwen2"]
    full = encode(tok, MESSAGES, MULTIBYTE)
    n = full.completion_length

    exact = encode(tok, MESSAGES, MULTIBYTE, max_length=len(full.input_ids))
    assert exact == full and not exact.truncated

    eos_cut = encode(tok, MESSAGES, MULTIBYTE, max_length=len(full.input_ids) - 1)
    assert (eos_cut.num_truncated, eos_cut.has_eos, eos_cut.covered_chars) == (1, False, len(MULTIBYTE))

    cut = encode(tok, MESSAGES, MULTIBYTE, max_length=full.prompt_length + 5)
    assert cut.truncated and cut.num_truncated == n - 5 and cut.completion_length == 5
    assert cut.input_ids == full.input_ids[: full.prompt_length + 5]
    assert cut.completion_offsets == full.completion_offsets[:5]
    assert_partition(tok, cut)
    assert token_index_of_char(cut, cut.covered_chars) == 4
    assert token_index_of_char(cut, len(MULTIBYTE)) is None  # that character was cut

    with pytest.raises(ValueError, match=r"prompt alone has \d+ tokens and max_length=\d+"):
        encode(tok, MESSAGES, MULTIBYTE, max_length=full.prompt_length)


def test_step_ends_map_to_the_last_token_of_each_step(tiny_tokenizers, arch):
    tok = tiny_tokenizers[arch]
    sample = encode(tok, MESSAGES, MULTIBYTE)
    steps = segment_steps(MULTIBYTE)
    assert len(steps) == 4
    previous = -1
    for step in steps:
        i = token_index_of_char(sample, step.end)
        s, e = sample.completion_offsets[i]
        assert s < step.end <= e and i > previous  # its span holds the step's last character
        assert tok.decode(sample.completion_ids[: i + 1]).startswith(MULTIBYTE[: step.end])
        previous = i
    assert token_index_of_char(sample, len(MULTIBYTE)) == sample.completion_length - 2  # EOS follows
    with pytest.raises(ValueError, match="outside the completion"):
        token_index_of_char(sample, 0)


@pytest.mark.parametrize("side", ["left", "right"])
def test_collate_places_completions_and_keeps_logits_of_unpadded_sequences(tiny_tokenizers, tiny_paths, side):
    from transformers import AutoModelForCausalLM

    tok = tiny_tokenizers["qwen2"]
    samples = [encode(tok, MESSAGES, ARITH), encode(tok, build_messages("Take 3."), "<think>\n3\n</think>")]
    batch = collate(samples, tok.pad_token_id, side)
    width = max(len(s.input_ids) for s in samples)
    assert batch["input_ids"].shape == batch["attention_mask"].shape == batch["completion_mask"].shape == (2, width)
    assert batch["completion_mask"].dtype == torch.bool
    model = AutoModelForCausalLM.from_pretrained(tiny_paths["qwen2"]).eval()
    with torch.no_grad():
        padded = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       position_ids=batch["position_ids"]).logits
    for row, sample in enumerate(samples):
        n = len(sample.input_ids)
        pad = width - n
        real = slice(pad, width) if side == "left" else slice(0, n)
        assert batch["input_ids"][row, real].tolist() == sample.input_ids
        assert (batch["input_ids"][row] == tok.pad_token_id).sum() == pad
        assert batch["attention_mask"][row].sum() == n
        assert batch["completion_mask"][row].sum() == sample.completion_length
        start = int(batch["completion_start"][row])
        assert batch["input_ids"][row, start:start + sample.completion_length].tolist() == sample.completion_ids
        assert batch["completion_mask"][row, start:start + sample.completion_length].all()
        assert batch["position_ids"][row, real].tolist() == list(range(n))
        with torch.no_grad():
            alone = model(torch.tensor([sample.input_ids])).logits[0]
        torch.testing.assert_close(padded[row, real], alone, atol=1e-5, rtol=1e-4)


def test_collate_rejects_bad_arguments(tiny_tokenizers):
    sample = encode(tiny_tokenizers["qwen2"], MESSAGES, ARITH)
    with pytest.raises(ValueError, match="padding_side"):
        collate([sample], 0, "middle")
    with pytest.raises(ValueError, match="at least one"):
        collate([], 0)
