"""From text to model inputs, and from a classifier's logits to class probabilities.

The one place where text becomes token ids and padded batches for inference, so fine-tuning,
evaluation and ensembles all see text the same way (no special tokens added: the fine-tuning
loop trains on exactly these ids, and evaluation must score what training saw)::

    from zslab.train.predict import class_probabilities

    probs, tokens_read = class_probabilities(model, tokenizer, ["质量很好", "太差了"])
    probs.shape                               # (2, num_labels), rows sum to 1

It imports nothing else of :mod:`zslab.train`, so :mod:`~zslab.train.finetune`,
:mod:`~zslab.train.ensemble` and :mod:`~zslab.train.evaluate` all call it without importing
each other; torch is imported only when a function runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

__all__ = ["class_probabilities", "encode", "pad_id", "padded"]


def encode(tokenizer: Any, text: str) -> list[int]:
    """The token ids of ``text`` without special tokens, as the fine-tuning loop encodes it."""
    return list(tokenizer.encode(text, add_special_tokens=False))


def pad_id(tokenizer: Any) -> int:
    """The id to pad a batch with: the tokenizer's pad token, else its EOS, else 0."""
    pad = tokenizer.pad_token_id
    if pad is None:
        pad = tokenizer.eos_token_id
    return int(pad) if pad is not None else 0


def padded(rows: Sequence[Sequence[int]], pad: int, *, left: bool = False) -> tuple[Any, Any]:
    """``(input_ids, attention_mask)`` LongTensors; ``left=True`` pads before (generation)."""
    import torch

    width = max(max(len(r) for r in rows), 1)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if not row:
            continue
        span = slice(width - len(row), width) if left else slice(0, len(row))
        ids[i, span] = torch.tensor(row, dtype=torch.long)
        mask[i, span] = 1
    return ids, mask


def class_probabilities(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    max_length: int = 512,
    device: Any = None,
    autocast: AbstractContextManager[Any] | None = None,
) -> tuple[np.ndarray, int]:
    """Softmax probabilities of a sequence classifier for ``texts`` and the tokens it read.

    Each text is cut to ``max_length`` tokens (an empty one becomes a single pad token, so
    every row has something to classify). ``device`` defaults to the model's; ``autocast`` is
    the mixed-precision context to run the forward pass in (none by default). Gradients are
    the caller's business: wrap the call in ``torch.no_grad()`` for inference.
    """
    import torch

    target = device if device is not None else next(model.parameters()).device
    pad = pad_id(tokenizer)
    rows = [encode(tokenizer, text)[:max_length] or [pad] for text in texts]
    ids, mask = padded(rows, pad)
    with autocast if autocast is not None else nullcontext():
        logits = model(input_ids=ids.to(target), attention_mask=mask.to(target)).logits
    probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    return probs, int(mask.sum())
