"""One loop for one process or many: `torchrun --nproc-per-node N <cli> train`.

torchrun starts N copies of the same command and tells each its RANK, LOCAL_RANK and WORLD_SIZE.
Each process trains on its own shard of every epoch's shuffled order (dataset.make_loader);
DistributedDataParallel averages the gradients, so all copies keep identical weights. Metrics
are summed over the processes (all-reduce), and only rank 0 prints, logs, and writes files.
Several machines: the same command on each, with --nnodes and --rdzv-endpoint (see the README).
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Sampler

from .config import DeviceName
from .errors import InvalidSettingError


@dataclass(frozen=True)
class Distributed:
    """Which process this is among how many; world_size 1 is a plain single-process run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that logs, checkpoints and writes reports."""
        return self.rank == 0


def select_device(requested: DeviceName, local_rank: int = 0) -> torch.device:
    """cuda (this process's GPU), else mps, else cpu; a requested device that is absent: error."""
    has_cuda = torch.cuda.is_available()
    has_mps = torch.backends.mps.is_available()
    if requested == "auto":
        requested = "cuda" if has_cuda else "mps" if has_mps else "cpu"
    if requested == "cuda":
        if not has_cuda:
            raise InvalidSettingError("train.device=cuda: no CUDA GPU is visible; use auto or cpu.")
        return torch.device("cuda", local_rank)
    if requested == "mps":
        if not has_mps:
            raise InvalidSettingError("train.device=mps: MPS is not available; use auto or cpu.")
        return torch.device("mps")
    return torch.device("cpu")


def setup(device: torch.device) -> Distributed:
    """Join the process group torchrun describes in the environment; alone, nothing to join."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Distributed()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        # NCCL's collectives (barrier, broadcast of objects) run on the current GPU: this one's.
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        # NCCL between GPUs; gloo between CPU processes.
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return Distributed(rank=rank, world_size=world_size, local_rank=local_rank)


def local_rank() -> int:
    """This process's index on its machine, which picks its GPU."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def teardown(context: Distributed) -> None:
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: nn.Module, context: Distributed, device: torch.device) -> nn.Module:
    """DistributedDataParallel across processes; the bare model alone."""
    if not context.enabled:
        return model
    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside DistributedDataParallel: what checkpoints save and load."""
    return model.module if isinstance(model, DistributedDataParallel) else model


def all_reduce_sum(tensor: torch.Tensor, context: Distributed) -> torch.Tensor:
    """The element-wise sum of `tensor` over all processes (itself when alone)."""
    if context.enabled:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def barrier(context: Distributed) -> None:
    if context.enabled:
        dist.barrier()


def broadcast_text(text: str | None, context: Distributed) -> str | None:
    """Rank 0's value of `text` (an MLflow run id, say) on every process."""
    if not context.enabled:
        return text
    holder: list[str | None] = [text]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


class ShardSampler(Sampler[int]):
    """Every process scores every world_size-th sample, in order, none twice.

    For validation: DistributedSampler pads shards to equal length with repeated samples,
    which would count them twice in the summed metrics.
    """

    def __init__(self, length: int, context: Distributed) -> None:
        self.indices = range(context.rank, length, context.world_size)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)
