"""Seeds, the determinism switch, and the random states a checkpoint saves and restores.

NumPy's legacy global generator is seeded and saved on purpose (ruff's NPY002 notwithstanding):
it is the one that third-party code calling np.random.* draws from.
"""

import os
import random
from typing import TypedDict

import numpy as np
import torch


def seed_everything(seed: int, *, deterministic: bool) -> None:
    """Seed Python, NumPy and torch; with `deterministic`, refuse nondeterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(deterministic)
    # cuDNN's autotuner picks kernels by timing them, so two runs may pick different ones.
    torch.backends.cudnn.benchmark = not deterministic
    if deterministic:
        # cuBLAS needs a fixed workspace to be deterministic (CUDA only; harmless elsewhere).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def epoch_seed(seed: int, epoch: int) -> int:
    """A DataLoader generator's seed for one epoch: its worker seeds follow (seed, epoch)."""
    return seed * 1_000_003 + epoch


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The DataLoader's generator for one epoch: its worker seeds depend on (seed, epoch) only."""
    return torch.Generator().manual_seed(epoch_seed(seed, epoch))


def seed_worker(worker_id: int) -> None:
    """worker_init_fn: seed Python and NumPy in a loader worker from torch's per-worker seed.

    torch seeds each worker from the loader's generator, but not `random` or NumPy, which would
    otherwise repeat the same augmentations in every worker.
    """
    del worker_id  # torch.initial_seed() already differs per worker
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)  # noqa: NPY002
    random.seed(worker_seed)


class PythonState(TypedDict):
    version: int
    state: list[int]
    gauss: float | None


class NumpyState(TypedDict):
    key: torch.Tensor
    pos: int
    has_gauss: int
    gauss: float


class RngState(TypedDict, total=False):
    python: PythonState
    numpy: NumpyState
    torch: torch.Tensor
    cuda: list[torch.Tensor]


def rng_state() -> RngState:
    """Every global random state, as tensors and plain values (loadable with weights_only)."""
    version, python_state, gauss = random.getstate()
    numpy_state = np.random.get_state(legacy=False)  # noqa: NPY002
    state: RngState = {
        "python": {"version": version, "state": list(python_state), "gauss": gauss},
        "numpy": {
            "key": torch.from_numpy(np.asarray(numpy_state["state"]["key"], dtype=np.int64)),
            "pos": int(numpy_state["state"]["pos"]),
            "has_gauss": int(numpy_state["has_gauss"]),
            "gauss": float(numpy_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: RngState) -> None:
    """Put back the random states `rng_state` returned."""
    python = state["python"]
    random.setstate((python["version"], tuple(python["state"]), python["gauss"]))
    numpy = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        {
            "bit_generator": "MT19937",
            "state": {"key": numpy["key"].numpy().astype(np.uint32), "pos": numpy["pos"]},
            "has_gauss": numpy["has_gauss"],
            "gauss": numpy["gauss"],
        }
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
