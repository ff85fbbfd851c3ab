"""The tiny local model: a BPE tokenizer trained in code and a ~1M-parameter causal LM, built offline.

``tiny_model_path(cfg)`` returns a Hugging Face folder (config.json, model.safetensors, tokenizer.json,
tokenizer_config.json, chat_template.jinja, build_info.json) that ``AutoModelForCausalLM`` and
``AutoTokenizer`` load like any hub model. The build is deterministic (fixed seeds, a corpus generated
in code) and cached under ``<cache>/tiny/<arch>-<hash>/``, the hash covering every setting that changes
the result. A build goes into a temporary folder that is renamed into place, so concurrent builders
never see a half-written folder (the loser of the race discards its copy).

Tokenizer (docs/ARCHITECTURE.md (Environment notes)): byte-level BPE trained with Qwen2's pre-tokenizer
regex (digits one per token) and an NFC normaliser — exactly what transformers' ``Qwen2Tokenizer`` rebuilds
when it loads a ``qwen2`` folder, so ids are identical after reload for both tiny architectures. Special
tokens: ``<|pad|>`` (pad), ``<|bos|>`` (bos, never added automatically), ``<|im_start|>``, ``<|im_end|>``
(eos, which also closes every chat turn). Padding side ``left`` is saved with the tokenizer.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from reasoning_irl.config.model import ModelConfig
from reasoning_irl.text.format import format_completion
from reasoning_irl.text.prompts import DEFAULT_SYSTEM_PROMPT

CACHE_ENV = "REASONING_IRL_CACHE"
#: Bump when the corpus, tokenizer or model recipe changes: old cache folders are then ignored.
TINY_BUILD_VERSION = 1
TINY_SEED = 0
#: Rotary positions have no learned table; this only bounds what the config accepts.
TINY_MAX_POSITIONS = 4096

PAD, BOS, IM_START, IM_END = "<|pad|>", "<|bos|>", "<|im_start|>", "<|im_end|>"
SPECIAL_TOKENS = [PAD, BOS, IM_START, IM_END]  # ids 0, 1, 2, 3

#: transformers' Qwen2 pre-tokenizer regex (docs/ARCHITECTURE.md (Environment notes), fix (a)).
QWEN2_PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"""
    r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

#: ChatML: ``<|im_start|>{role}\n{content}<|im_end|>\n`` per message; the generation prompt is
#: ``<|im_start|>assistant\n`` (so a completion starts right after that newline).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

BUILD_INFO = "build_info.json"
# Threads of one process share torch's global RNG, which the seeded init uses: build one at a time.
_BUILD_LOCK = threading.Lock()


def cache_root(cfg: ModelConfig) -> Path:
    """``cfg.cache_dir``, else ``$REASONING_IRL_CACHE``, else ``~/.cache/reasoning_irl``."""
    root = cfg.cache_dir or os.environ.get(CACHE_ENV) or "~/.cache/reasoning_irl"
    return Path(root).expanduser()


def tiny_settings(cfg: ModelConfig) -> dict[str, Any]:
    """Everything that determines the built folder (hashed into its name)."""
    import tokenizers
    import torch
    import transformers

    return {
        "build_version": TINY_BUILD_VERSION,
        "seed": TINY_SEED,
        "arch": cfg.tiny_arch,
        "hidden_size": cfg.tiny_hidden_size,
        "intermediate_size": cfg.tiny_intermediate_size,
        "num_layers": cfg.tiny_num_layers,
        "num_heads": cfg.tiny_num_heads,
        "vocab_size": cfg.tiny_vocab_size,
        "max_positions": TINY_MAX_POSITIONS,
        # Initialisation and serialisation may change between library versions.
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__},
    }


def tiny_model_path(cfg: ModelConfig) -> Path:
    """The cached tiny model folder for ``cfg``; built (atomically) if it does not exist yet."""
    settings = tiny_settings(cfg)
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    root = cache_root(cfg) / "tiny"
    final = root / f"{cfg.tiny_arch}-{digest}"
    with _BUILD_LOCK:
        if final.is_dir():
            if not (final / BUILD_INFO).is_file():
                raise RuntimeError(
                    f"tiny model cache folder {final} is incomplete (no {BUILD_INFO}); delete it and retry"
                )
            return final
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=root))
        try:
            build_tiny(tmp, cfg, settings)
            tmp.chmod(0o755)  # mkdtemp makes it private; the cache may be shared
            try:
                os.rename(tmp, final)  # atomic; fails when another process renamed its build first
            except OSError:
                if not (final / BUILD_INFO).is_file():
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return final


def build_tiny(out_dir: str | os.PathLike, cfg: ModelConfig, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build tokenizer + model into ``out_dir`` (no caching) and return the build info written there."""
    from transformers.utils import logging as hf_logging

    out_dir = Path(out_dir)
    start = time.perf_counter()
    tokenizer = build_tiny_tokenizer(cfg.tiny_vocab_size)
    tokenizer_seconds = time.perf_counter() - start
    model = build_tiny_model(cfg, tokenizer)
    bar_was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        tokenizer.save_pretrained(out_dir)
        model.save_pretrained(out_dir, safe_serialization=True)
    finally:
        if bar_was_enabled:
            hf_logging.enable_progress_bar()
    info = {
        "settings": settings if settings is not None else tiny_settings(cfg),
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "num_embedding_parameters": model.get_input_embeddings().weight.numel(),
        "vocab_size": len(tokenizer),
        "tokenizer_seconds": round(tokenizer_seconds, 3),
        "build_seconds": round(time.perf_counter() - start, 3),
    }
    (out_dir / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def build_tiny_tokenizer(vocab_size: int):
    """Train the byte-level BPE on :func:`tiny_corpus` and wrap it as a transformers tokenizer."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(unk_token=None, byte_fallback=False, fuse_unk=False))
    backend.normalizer = normalizers.NFC()
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte encodes: no unknown token
        show_progress=False,
    )
    backend.train_from_iterator(tiny_corpus(TINY_SEED), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=BOS,
        eos_token=IM_END,
        pad_token=PAD,
        unk_token=None,
        extra_special_tokens=[IM_START],
        padding_side="left",  # a constructor argument is saved; an attribute set later is not
        chat_template=CHAT_TEMPLATE,
    )


def build_tiny_model(cfg: ModelConfig, tokenizer):
    """A randomly initialised (seeded) Qwen2 or Llama causal LM sized by ``cfg.tiny_*``."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    if len(tokenizer) > cfg.tiny_vocab_size:
        raise ValueError(f"tiny tokenizer has {len(tokenizer)} tokens > model.tiny_vocab_size={cfg.tiny_vocab_size}")
    config_class = {"qwen2": Qwen2Config, "llama": LlamaConfig}[cfg.tiny_arch]
    config = config_class(
        vocab_size=cfg.tiny_vocab_size,
        hidden_size=cfg.tiny_hidden_size,
        intermediate_size=cfg.tiny_intermediate_size,
        num_hidden_layers=cfg.tiny_num_layers,
        num_attention_heads=cfg.tiny_num_heads,
        num_key_value_heads=cfg.tiny_num_heads,
        max_position_embeddings=TINY_MAX_POSITIONS,
        # Untied: a reward head may replace lm_head without touching the input embeddings.
        tie_word_embeddings=False,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    with torch.random.fork_rng(devices=[]):  # seeded init without disturbing the caller's RNG
        torch.manual_seed(TINY_SEED)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    return model


# --- the training corpus, generated in code -------------------------------------------------------

_NAMES = ["Natalia", "James", "Maria", "Tom", "Aisha", "Ken", "Lucy", "Omar", "Sara", "Ben", "Chen", "Priya",
          "Carlos", "Emma", "Noah", "Olivia", "Liam", "Mia", "Ravi", "Zoe"]
_PRONOUNS = [("she", "her"), ("he", "his"), ("they", "their")]
_ITEMS = ["apples", "books", "marbles", "cookies", "pencils", "eggs", "tickets", "stickers", "cupcakes", "toys",
          "cards", "oranges", "flowers", "bottles", "boxes", "shirts", "candies", "coins", "stamps", "balloons"]
_GENERAL = [
    "First, we find the total number of items. Then we subtract the ones that were sold.",
    "Let x be the number of students in the class. The equation is 3x + 4 = 25, so x = 7.",
    "The sum of two numbers is 30 and their difference is 4. What are the two numbers?",
    "To find the average, add all the values and divide by how many there are.",
    "Half of the money was spent on food, and a quarter of the rest on books.",
    "The price went up by 20 percent, so the new price is 1.2 times the old price.",
    "Each week she saves the same amount of money. After 6 weeks she has $90.",
    "A rectangle is 8 meters long and 5 meters wide. Its area is 40 square meters.",
    "There are 60 minutes in an hour, 24 hours in a day and 7 days in a week.",
    "The answer is the number of cookies that are left at the end of the day.",
    "We know that the train leaves at 3 o'clock and arrives two hours later.",
    "If the ratio of cats to dogs is 2 to 3 and there are 12 cats, there are 18 dogs.",
    "The remaining amount is what is left after all the payments have been made.",
    "Multiply the number of boxes by the number of pencils in each box.",
    "Therefore, the final answer is 42. Check the result by working backwards.",
    "The farmer has cows, sheep and chickens. The chickens have two legs each.",
    "A dozen means twelve, and a pair means two. Three dozen eggs are 36 eggs.",
    "The question asks how much more money he needs to buy the new bicycle.",
    "Solve the problem step by step, and write each step on its own line.",
    "The store was open from Monday to Friday, but it was closed on the weekend.",
    "Twice as many people came to the party this year as came last year.",
    "The fraction 3/4 is equal to 0.75, which is the same as 75 percent.",
    "She drove 150 miles at 50 miles per hour, so the trip took 3 hours.",
    "It costs $2.50 to ride the bus, and he rides it twice every day.",
    "What is the total cost of the tickets for the whole family?",
    "The children shared the candies equally, and each child got the same number.",
    "Because the tank loses water every minute, it will be empty after some time.",
    "The teacher wrote the numbers on the board: 1, 2, 3, 4, 5, 6, 7, 8, 9 and 10.",
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Science, history and language are taught at the school together with mathematics.",
]


def _arith_problem(rng: random.Random) -> tuple[str, str]:
    """A multi-step arithmetic problem and its expert completion (one ``a op b = c`` line per step)."""
    value = rng.randint(1, 30)
    opening = rng.choice(["Start with", "Begin with", "Take"])
    words, lines = [f"{opening} {value}."], []
    for _ in range(rng.randint(2, 5)):
        op = rng.choice("+-*/")
        if op == "/":
            divisors = [d for d in range(2, 10) if value % d == 0] or [1]
            operand = rng.choice(divisors)
            result, phrase = value // operand, f"Divide by {operand}."
        else:
            operand = rng.randint(1, 12 if op == "*" else 50)
            result = value + operand if op == "+" else value - operand if op == "-" else value * operand
            phrase = {"+": f"Add {operand}.", "-": f"Subtract {operand}.", "*": f"Multiply by {operand}."}[op]
        words.append(phrase)
        lines.append(f"{value} {op} {operand} = {result}")
        value = result
    words.append(rng.choice(["What is the final number?", "What is the result?", "What number do you get?"]))
    return " ".join(words), format_completion(lines, str(value))


def _word_problem(rng: random.Random) -> str:
    """A GSM8K-like word problem followed by a short worked solution."""
    name, other = rng.sample(_NAMES, 2)
    subj, poss = rng.choice(_PRONOUNS)
    item = rng.choice(_ITEMS)
    a, b, c = rng.randint(2, 60), rng.randint(2, 20), rng.randint(2, 9)
    kind = rng.randrange(5)
    if kind == 0:
        return (f"{name} has {a} {item}. {subj.capitalize()} buys {b} more {item}. How many {item} does "
                f"{name} have now? {name} has {a} + {b} = {a + b} {item}. The answer is {a + b}.")
    if kind == 1:
        return (f"{name} earns ${b} per hour and works {c} hours a day. How much money does {subj} earn in a day? "
                f"{subj.capitalize()} earns {b} * {c} = ${b * c}. The answer is {b * c}.")
    if kind == 2:
        return (f"{name} had {a * 2} {item} and gave half of them to {other}. How many {item} are left? "
                f"Half of {a * 2} is {a * 2} / 2 = {a}. The answer is {a}.")
    if kind == 3:
        return (f"A store sells {item} for ${c} each. {name} buys {b} {item} for {poss} friends. What is the total "
                f"cost? The total cost is {b} * {c} = ${b * c}. Therefore, the answer is {b * c}.")
    return (f"There are {a + b} {item} in a box. {name} takes {b} of them and {other} takes {c}. How many are "
            f"left? {a + b} - {b} - {c} = {a - c}. The answer is {a - c}.")


def tiny_corpus(seed: int = TINY_SEED) -> list[str]:
    """Training text for the tiny BPE: arithmetic problems with expert traces in ChatML turns, the default
    system prompt, GSM8K-like word problems and general English/maths sentences (deterministic)."""
    rng = random.Random(seed)
    corpus = []
    for _ in range(1500):
        question, completion = _arith_problem(rng)
        corpus.append(f"system\n{DEFAULT_SYSTEM_PROMPT}\nuser\n{question}\nassistant\n{completion}\n")
    corpus.extend(_word_problem(rng) for _ in range(1500))
    corpus.extend(_GENERAL * 20)
    return corpus
