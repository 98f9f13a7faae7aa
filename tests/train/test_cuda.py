"""Precision and device of the fine-tuning loop and of evaluation.

The CPU tests always run. The CUDA tests run where a CUDA device is visible (they skip here,
saying so) and were run on a lent GPU for this project: bf16 autocast is on by default there,
``bf16=False`` keeps fp32, a bf16 run resumes to the same losses, and bf16 evaluation agrees
with the fp32 CPU reference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from tests.train.conftest import (
    EVAL,
    TRAIN,
    CharTokenizer,
    causal_lm,
    classifier,
    cls_config,
)
from zslab.train.evaluate import evaluate
from zslab.train.finetune import finetune

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device (none visible on this machine)"
)


def linear_output_dtypes(model: torch.nn.Module) -> tuple[list[torch.dtype], Any]:
    """Record the dtype every ``nn.Linear`` of ``model`` produces (autocast shows up there)."""
    seen: list[torch.dtype] = []
    handles = [
        module.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
        for module in model.modules()
        if isinstance(module, torch.nn.Linear)
    ]
    return seen, handles


def test_cpu_run_reports_fp32_on_the_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    model = classifier()
    seen, _ = linear_output_dtypes(model)

    result = finetune(model, CharTokenizer(), TRAIN, None, cls_config(tmp_path), progress=False)

    assert (result.device, result.precision) == ("cpu", "fp32")
    assert seen and set(seen) == {torch.float32}


def test_bf16_true_on_the_cpu_autocasts_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    model = classifier()
    seen, _ = linear_output_dtypes(model)

    result = finetune(
        model, CharTokenizer(), TRAIN, None, cls_config(tmp_path, bf16=True), progress=False
    )

    assert result.precision == "bf16"
    assert torch.bfloat16 in seen
    assert all(torch.isfinite(torch.tensor(result.losses)))


@needs_cuda
def test_cuda_uses_bf16_autocast_by_default(tmp_path: Path) -> None:
    model = classifier()
    seen, _ = linear_output_dtypes(model)

    result = finetune(
        model, CharTokenizer(), TRAIN, EVAL, cls_config(tmp_path, eval_every=4), progress=False
    )

    assert result.device.startswith("cuda")
    assert result.precision == "bf16"
    assert set(seen) == {torch.bfloat16}
    assert next(model.parameters()).dtype == torch.float32  # master weights stay fp32
    assert all(torch.isfinite(torch.tensor(result.losses)))
    assert result.tokens_per_second > 0


@needs_cuda
def test_cuda_bf16_false_stays_fp32(tmp_path: Path) -> None:
    model = classifier()
    seen, _ = linear_output_dtypes(model)

    result = finetune(
        model, CharTokenizer(), TRAIN, None, cls_config(tmp_path, bf16=False), progress=False
    )

    assert (result.precision, set(seen)) == ("fp32", {torch.float32})


@needs_cuda
def test_cuda_bf16_learns_like_fp32(tmp_path: Path) -> None:
    runs = {}
    for bf16 in (True, False):
        config = cls_config(
            tmp_path / str(bf16), max_steps=60, grad_accum=1, batch_size=8, eval_every=60
        )
        config.bf16 = bf16
        runs[bf16] = finetune(classifier(), CharTokenizer(), TRAIN, EVAL, config, progress=False)

    assert runs[True].metrics["eval_accuracy"] >= 0.9
    # Same init, data and schedule: the curves differ only by rounding.
    assert abs(runs[True].losses[-1] - runs[False].losses[-1]) < 0.1


@needs_cuda
def test_cuda_bf16_resume_gives_the_same_losses(tmp_path: Path) -> None:
    full_config = cls_config(tmp_path / "full", checkpoint_every=4, keep_last=5)
    full = finetune(classifier(), CharTokenizer(), TRAIN, None, full_config, progress=False)

    resumed = finetune(
        classifier(),
        CharTokenizer(),
        TRAIN,
        None,
        cls_config(tmp_path / "resumed"),
        resume_from=tmp_path / "full" / "checkpoints" / "step-00000004",
        progress=False,
    )

    assert resumed.precision == "bf16"
    # cuBLAS may pick different reduction orders between processes: allow rounding only.
    assert torch.allclose(torch.tensor(resumed.losses), torch.tensor(full.losses), atol=1e-3)


@needs_cuda
def test_cuda_bf16_perplexity_matches_the_cpu_fp32_reference() -> None:
    model = causal_lm()
    task = {
        "name": "lm",
        "type": "language-modeling",
        "data": [{"text": record["text"] * 3} for record in EVAL],
        "max_length": 32,
        "metrics": {"n_resamples": 50},
    }

    cpu = evaluate(model, task, tokenizer=CharTokenizer(), device="cpu")
    gpu = evaluate(model, task, tokenizer=CharTokenizer(), device="cuda")

    assert gpu.environment.get("gpu")
    ref, got = cpu.metrics["perplexity"]["value"], gpu.metrics["perplexity"]["value"]
    assert got == pytest.approx(ref, rel=0.02)
