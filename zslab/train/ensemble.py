"""Ensembles of text classifiers: several fine-tuned models vote with their mean probability.

Members are sequence-classification models with their own tokenizers; a member may read the
text right to left (``reverse=True``), as a model pretrained and fine-tuned on reversed text
does (ULMFiT's backward language model, Howard & Ruder 2018). Forward and backward models make
different mistakes, so their average is usually better than either, and better than several
seeds of one direction.

    from zslab.train.ensemble import ClassifierEnsemble, Member

    ensemble = ClassifierEnsemble([Member(fwd, fwd_tok), Member(bwd, bwd_tok, reverse=True)])
    probs = ensemble.predict_proba(["质量很好", "太差了"])       # (2, num_labels)
    ensemble.save("models/sentiment-ensemble")
    evaluate("models/sentiment-ensemble", "evals/sentiment.yaml")   # or evaluate(ensemble, ...)

A saved ensemble is a folder with ``ensemble.json`` (members, their direction, label names)
and one Hugging Face model folder per member; :func:`load_ensemble` reads it back and
:func:`zslab.train.evaluate.evaluate` accepts it wherever it accepts a model folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zslab.train.models import ENSEMBLE_MANIFEST, load_model, state_dict_hash
from zslab.train.predict import class_probabilities

MANIFEST = ENSEMBLE_MANIFEST
FORMAT = 1


@dataclass
class Member:
    """One classifier of an ensemble: a sequence-classification model and its tokenizer."""

    model: Any
    tokenizer: Any
    reverse: bool = False  # the model reads text right to left
    name: str = ""


class ClassifierEnsemble:
    """Average the class probabilities of several text classifiers (soft voting).

    Every member must predict the same labels in the same order (``config.id2label``); the
    ensemble's ``label_names`` are theirs. ``weights`` (one per member, default equal) scale
    each member's vote.
    """

    def __init__(self, members: Sequence[Member], weights: Sequence[float] | None = None):
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = list(members)
        for i, member in enumerate(self.members):
            member.name = member.name or f"member-{i}"
            if member.tokenizer is None:
                raise ValueError(f"member {member.name!r} has no tokenizer")
        names = [_label_names(m.model) for m in self.members]
        for member, labels in zip(self.members, names, strict=True):
            if labels != names[0]:
                raise ValueError(
                    f"member {member.name!r} predicts labels {labels}, but "
                    f"{self.members[0].name!r} predicts {names[0]}: every member needs the same "
                    "labels in the same order (config.id2label)"
                )
        self.label_names: tuple[str, ...] = names[0]
        if weights is None:
            weights = [1.0] * len(self.members)
        if len(weights) != len(self.members):
            raise ValueError(
                f"weights has {len(weights)} entries for {len(self.members)} members; give one "
                "weight per member"
            )
        if any(not np.isfinite(w) or w < 0 for w in weights) or not sum(weights) > 0:
            raise ValueError(f"weights must be finite, non-negative and not all 0, got {weights}")
        total = float(sum(weights))
        self.weights = [float(w) / total for w in weights]

    def __len__(self) -> int:
        return len(self.members)

    def __repr__(self) -> str:
        names = ", ".join(m.name + (" (reversed)" if m.reverse else "") for m in self.members)
        return f"ClassifierEnsemble([{names}])"

    # torch-style plumbing, so evaluate() can treat it like a model --------------------------

    def to(self, device: Any) -> ClassifierEnsemble:
        for member in self.members:
            member.model.to(device)
        return self

    def eval(self) -> ClassifierEnsemble:
        for member in self.members:
            member.model.eval()
        return self

    def state_hash(self) -> str:
        """SHA-256 over every member's weights, direction and vote weight, in member order."""
        digest = hashlib.sha256()
        for member, weight in zip(self.members, self.weights, strict=True):
            digest.update(
                f"{state_dict_hash(member.model)}\0{member.reverse}\0{weight!r}\n".encode()
            )
        return digest.hexdigest()

    # prediction -----------------------------------------------------------------------------

    def predict_proba(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        max_length: int = 512,
        device: Any = None,
    ) -> np.ndarray:
        """``(len(texts), len(label_names))`` mean probabilities (rows sum to 1)."""
        import torch

        probs = np.zeros((len(texts), len(self.label_names)), dtype=np.float64)
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                chunk = list(texts[start : start + batch_size])
                batch_probs, _ = self.score_batch(chunk, max_length=max_length, device=device)
                probs[start : start + len(chunk)] = batch_probs
        return probs

    def member_probabilities(
        self, texts: Sequence[str], *, max_length: int = 512, device: Any = None
    ) -> list[np.ndarray]:
        """Each member's own probabilities for ``texts``, in member order."""
        import torch

        with torch.no_grad():
            return [_member_probs(m, list(texts), max_length, device)[0] for m in self.members]

    def score_batch(
        self,
        texts: list[str],
        *,
        max_length: int = 512,
        device: Any = None,
        autocast: Any = None,
    ) -> tuple[np.ndarray, int]:
        """Mean probabilities of one batch and the number of tokens the members read."""
        mean = np.zeros((len(texts), len(self.label_names)), dtype=np.float64)
        tokens = 0
        for member, weight in zip(self.members, self.weights, strict=True):
            probs, read = _member_probs(member, texts, max_length, device, autocast)
            mean += weight * probs
            tokens += read
        return mean, tokens

    # persistence ----------------------------------------------------------------------------

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the ensemble to ``folder`` (replaced as a whole if it exists)."""
        out = Path(folder)
        partial = out.with_name(out.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        entries = []
        for i, (member, weight) in enumerate(zip(self.members, self.weights, strict=True)):
            sub = f"members/{i:02d}"
            member.model.save_pretrained(partial / sub)
            member.tokenizer.save_pretrained(partial / sub)
            entries.append(
                {"path": sub, "name": member.name, "reverse": member.reverse, "weight": weight}
            )
        manifest = {
            "format": FORMAT,
            "kind": "classifier-ensemble",
            "label_names": list(self.label_names),
            "members": entries,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
        if out.exists():
            shutil.rmtree(out)
        partial.rename(out)
        return out


def is_ensemble(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` holds a saved :class:`ClassifierEnsemble`."""
    return (Path(folder) / MANIFEST).is_file()


def load_ensemble(folder: str | os.PathLike[str]) -> ClassifierEnsemble:
    """Read a folder written by :meth:`ClassifierEnsemble.save`."""
    root = Path(folder)
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"{root} has no {MANIFEST}: it is not a saved ensemble (ClassifierEnsemble.save)"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{manifest_path} is not valid JSON ({err}); save the ensemble again"
        ) from err
    if manifest.get("format") != FORMAT or manifest.get("kind") != "classifier-ensemble":
        raise ValueError(
            f"{manifest_path} is format {manifest.get('format')!r} / kind "
            f"{manifest.get('kind')!r}; this zslab reads format {FORMAT} classifier ensembles"
        )
    labels = manifest.get("label_names") or None
    members, weights = [], []
    for entry in manifest.get("members", []):
        path = root / entry["path"]
        if not path.is_dir():
            raise FileNotFoundError(
                f"ensemble member {entry.get('name')!r} is missing: {path} does not exist"
            )
        model, tokenizer = load_model(path, task="classification", label_names=labels)
        members.append(
            Member(model, tokenizer, reverse=bool(entry.get("reverse")), name=entry.get("name", ""))
        )
        weights.append(float(entry.get("weight", 1.0)))
    if not members:
        raise ValueError(f"{manifest_path} lists no members")
    return ClassifierEnsemble(members, weights)


# ---------------------------------------------------------------------------- helpers


def _label_names(model: Any) -> tuple[str, ...]:
    config = getattr(model, "config", None)
    id2label = getattr(config, "id2label", None) or {}
    count = int(getattr(config, "num_labels", len(id2label)) or len(id2label))
    return tuple(str(id2label.get(i, id2label.get(str(i), i))) for i in range(count))


def _member_probs(
    member: Member, texts: list[str], max_length: int, device: Any, autocast: Any = None
) -> tuple[np.ndarray, int]:
    probs, read = class_probabilities(
        member.model,
        member.tokenizer,
        [text[::-1] for text in texts] if member.reverse else texts,
        max_length,
        device,
        autocast,
    )
    return probs.astype(np.float64), read
