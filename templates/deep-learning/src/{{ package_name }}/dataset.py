"""The split manifest as a torch Dataset, and loaders whose order is a function of seed and epoch.

Exact resume needs the data order and the augmentation of a resumed epoch to be those of the
straight run. Here both are pure functions: the order of epoch `e` comes from a generator seeded
with `seed + e` (DistributedSampler's, which also shards it between processes), and the
augmentation of image `i` in epoch `e` from a generator seeded with (seed, e, i). A checkpoint
therefore only needs the epoch and the number of batches done; `set_epoch(loader, epoch,
skip_batches=done)` carries on from there, and the answer is the same with any number of loader
workers.
"""

import csv
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from .augment import Augment
from .errors import DataValidationError, MissingArtifactError
from .images import read_image, to_tensor
from .paths import Paths
from .seeding import epoch_generator, epoch_seed, seed_worker
from .settings import is_project_root

SPLITS = ("train", "val", "test")
# Written by `data` beside the manifest (Paths.classes_json).
CLASSES_JSON = "classes.json"
# Mixes seed, epoch and index into one generator seed: a prime keeps nearby triples apart.
MIX = 1_000_003
SEED_BITS = 2**63


@dataclass(frozen=True)
class ManifestRow:
    """One image of the split: its file (absolute), its class index and its split."""

    path: Path
    label: int
    split: str


@dataclass(frozen=True)
class ClassInfo:
    """classes.json: the class names in label order, and how images are fed to the model."""

    names: tuple[str, ...]
    channels: int
    image_size: int
    # Per channel, measured on the train split by `data`.
    mean: tuple[float, ...]
    std: tuple[float, ...]


@dataclass(frozen=True)
class SplitData:
    """The classes and every row of the manifest."""

    info: ClassInfo
    rows: tuple[ManifestRow, ...]

    def part(self, split: str) -> list[ManifestRow]:
        """The rows of one split: train, val or test."""
        return [row for row in self.rows if row.split == split]


def read_classes(path: Path) -> ClassInfo:
    """classes.json as written by the `data` stage."""
    if not path.is_file():
        raise MissingArtifactError(f"No class list at {path}: run the `data` command first.")
    raw = json.loads(path.read_text(encoding="utf-8"))
    return ClassInfo(
        names=tuple(str(name) for name in raw["classes"]),
        channels=int(raw["channels"]),
        image_size=int(raw["image_size"]),
        mean=tuple(float(value) for value in raw["mean"]),
        std=tuple(float(value) for value in raw["std"]),
    )


def read_manifest(
    path: Path, root: Path | None = None, class_names: Sequence[str] | None = None
) -> list[ManifestRow]:
    """The manifest's rows, with paths made absolute and labels turned into class indices.

    Relative paths are relative to the project folder (`root`, else the one holding `path`); the
    class order is `class_names`, else that of the classes.json beside the manifest.
    """
    if not path.is_file():
        raise MissingArtifactError(f"No split manifest at {path}: run the `data` command first.")
    root = root or manifest_root(path)
    names = class_names or read_classes(path.with_name(CLASSES_JSON)).names
    index = {name: position for position, name in enumerate(names)}
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        for line, record in enumerate(csv.DictReader(handle), start=2):
            label, split = record["label"], record["split"]
            if label not in index or split not in SPLITS:
                raise DataValidationError(
                    f"{path}, line {line}: label '{label}' or split '{split}' does not match "
                    "classes.json: run the `data` command again to rewrite both."
                )
            file = Path(record["path"])
            rows.append(
                ManifestRow(file if file.is_absolute() else root / file, index[label], split)
            )
    return rows


def manifest_root(manifest: Path) -> Path:
    """The project folder holding a manifest: the nearest one up, else <root>/data/processed."""
    folders = manifest.absolute().parents
    return next((folder for folder in folders if is_project_root(folder)), folders[2])


def load_split(paths: Paths) -> SplitData:
    """The class list and the manifest that `data` wrote for this project."""
    info = read_classes(paths.classes_json)
    rows = read_manifest(paths.manifest, paths.root, info.names)
    return SplitData(info=info, rows=tuple(rows))


def mix_seed(*parts: int) -> int:
    """One generator seed from several integers, the same on every machine and process."""
    seed = 0
    for part in parts:
        seed = (seed * MIX + part) % SEED_BITS
    return seed


class ManifestDataset(Dataset[tuple[torch.Tensor, int]]):
    """(image tensor C x H x W in [0, 1], class index) for each row; augmented when asked."""

    def __init__(
        self,
        rows: Sequence[ManifestRow],
        image_size: int,
        channels: int,
        augment: Augment | None = None,
        seed: int = 0,
    ) -> None:
        self.rows = list(rows)
        self.image_size = image_size
        self.channels = channels
        self.augment = augment
        self.seed = seed
        # Set by set_epoch; loader workers receive it with the dataset at each epoch's start.
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        row = self.rows[index]
        image = read_image(row.path, self.image_size, self.channels)
        if self.augment is None:
            return to_tensor(image), row.label
        generator = torch.Generator().manual_seed(mix_seed(self.seed, self.epoch, index))
        return self.augment(image, generator), row.label


class EpochBatchSampler(Sampler[list[int]]):
    """Batches of indices for one epoch at a time: this process's share, from a given position.

    The one place the training order is made. The order of an epoch is a function of
    (seed, epoch), as in DistributedSampler, which makes it: shuffled by a generator seeded with
    seed + epoch, and rank r of N processes takes every N-th index from position r, so N
    processes together see the batches one process would. A resumed run regenerates its epoch's
    order and leaves out the batches already trained on, without loading them.
    """

    def __init__(  # noqa: PLR0913 (each is a switch of the sampler, named at the call)
        self,
        dataset: Dataset[object],
        *,
        batch_size: int,
        shuffle: bool,
        seed: int,
        world_size: int = 1,
        rank: int = 0,
    ) -> None:
        self.batch_size = batch_size
        self.seed = seed
        self.shards = DistributedSampler[int](
            dataset, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed
        )
        self.skip = 0

    def set_epoch(self, epoch: int, skip_batches: int = 0) -> None:
        """Iterate over `epoch`'s batches, leaving out the first `skip_batches`."""
        self.shards.set_epoch(epoch)
        self.skip = skip_batches

    @property
    def batches_per_epoch(self) -> int:
        """This process's batches in a whole epoch, skipped ones included."""
        return math.ceil(len(self.shards) / self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        order = list(self.shards)
        starts = range(self.skip * self.batch_size, len(order), self.batch_size)
        return iter([order[start : start + self.batch_size] for start in starts])

    def __len__(self) -> int:
        """Batches left in the current epoch (all of them unless set_epoch skipped some)."""
        return max(self.batches_per_epoch - self.skip, 0)


def make_loader(  # noqa: PLR0913 (each is a switch of the loader, named at the call)
    dataset: Dataset[tuple[torch.Tensor, int]],
    *,
    batch_size: int,
    shuffle: bool,
    seed: int,
    num_workers: int = 0,
    world_size: int = 1,
    rank: int = 0,
    pin_memory: bool = False,
) -> DataLoader[tuple[torch.Tensor, int]]:
    """A loader whose batches are fixed by (seed, epoch); call set_epoch before each epoch.

    With `world_size` processes, each (its `rank`) gets its share of every epoch's order.
    """
    sampler = EpochBatchSampler(
        dataset, batch_size=batch_size, shuffle=shuffle, seed=seed, world_size=world_size, rank=rank
    )
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=num_workers,
        worker_init_fn=seed_worker,
        # Seeds the workers' torch generators (their base seed); set_epoch reseeds it.
        generator=epoch_generator(seed, 0),
        pin_memory=pin_memory,
    )


def set_epoch(
    loader: DataLoader[tuple[torch.Tensor, int]], epoch: int, skip_batches: int = 0
) -> None:
    """Point the loader at `epoch`, leaving out its first `skip_batches` batches (for resume).

    Everything random about the epoch follows (seed, epoch): the order, the augmentation of each
    image, and the seeds of the loader's workers.
    """
    sampler = loader.batch_sampler
    if not isinstance(sampler, EpochBatchSampler) or loader.generator is None:
        message = "set_epoch needs a loader from make_loader"
        raise TypeError(message)
    sampler.set_epoch(epoch, skip_batches)
    loader.generator.manual_seed(epoch_seed(sampler.seed, epoch))
    # ManifestDataset draws image i's augmentation from a generator seeded with (seed, epoch, i).
    if hasattr(loader.dataset, "epoch"):
        loader.dataset.epoch = epoch
