"""The `data` stage: check the image folder, split it, and say what was found and what was skipped.

The folder holds one subfolder per class (`data/raw/<class>/*.png`). A problem that stops the whole
run (no folder, one class, an empty class) is a UserError naming the folder and the fix; a problem
with one file (not an image, corrupt, truncated, too small) skips that file, lists it with its
reason in the summary, and the rest goes on. Mixed modes and sizes are not problems: every image
is converted to the same channels and resized to the same size, and the summary says so.
"""

import csv
import json
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd
import torch
from rich.console import Console
from rich.table import Table

from . import tables
from .config import Settings
from .errors import DataValidationError
from .images import COLOUR, GREY, BadImageError, inspect, load_image, mode_channels

SAMPLE_ZIP = "mnist_digits.zip"
# The package this module belongs to: sample_data/ is installed inside it.
PACKAGE = __name__.rpartition(".")[0]
SPLITS = ("train", "val", "test")
# One image for each split, at the very least.
MIN_PER_CLASS = len(SPLITS)
MIN_CLASSES = 2
# How many skipped files an error message quotes before it says "and N more".
QUOTED = 3
# The smallest per-channel standard deviation written to classes.json.
MIN_STD = 1e-3
# The summary's Markdown, under reports/ so the report can link it.
SUMMARY_MD = "data_summary.md"


@dataclass(frozen=True)
class Skipped:
    """A file left out of the split, and why."""

    path: Path
    reason: str


@dataclass
class Scan:
    """What the folder holds: usable images per class, skipped files, modes and sizes."""

    root: Path
    images: dict[str, list[Path]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    modes: Counter[str] = field(default_factory=Counter)
    sizes: Counter[tuple[int, int]] = field(default_factory=Counter)

    @property
    def channels(self) -> int:
        """3 if any image has colour, else 1: a greyscale folder trains on one channel."""
        return max((mode_channels(mode) for mode in self.modes), default=GREY)


@dataclass(frozen=True)
class DataSummary:
    """The result of the `data` stage, as tables for the terminal and for Markdown."""

    classes: tuple[str, ...]
    channels: int
    image_size: int
    counts: pd.DataFrame
    skipped: pd.DataFrame
    found: pd.DataFrame
    notes: tuple[str, ...]
    written: tuple[Path, ...]

    def markdown(self) -> str:
        parts = ["## Images per class and split\n\n", tables.to_markdown(self.counts)]
        parts += ["\n## What the images are\n\n", tables.to_markdown(self.found)]
        if len(self.skipped):
            parts += ["\n## Skipped files\n\n", tables.to_markdown(self.skipped)]
        if self.notes:
            parts += ["\n", *(f"- {tables.escape(note)}\n" for note in self.notes)]
        return "".join(parts)

    def print(self, console: Console) -> None:
        console.print(rich_table(self.counts, "Images per class and split"))
        console.print(rich_table(self.found, "What the images are"))
        if len(self.skipped):
            console.print(rich_table(self.skipped, f"Skipped files ({len(self.skipped)})"))
        for note in self.notes:
            console.print(f"[yellow]•[/] {note}", highlight=False)


def rich_table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(str(column), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*(str(value) for value in row))
    return table


def unpack_sample(raw_dir: Path) -> int:
    """Unpack the bundled MNIST digits (sample_data/SOURCE.md) into raw_dir/<digit>/*.png."""
    sample = resources.files(PACKAGE).joinpath("sample_data", SAMPLE_ZIP)
    with resources.as_file(sample) as path, zipfile.ZipFile(path) as archive:
        names = [name for name in archive.namelist() if not name.endswith("/")]
        # extractall drops absolute parts and `..` from member names: nothing lands outside.
        archive.extractall(raw_dir)
    return len(names)


def scan(raw_dir: Path, hint: str = "") -> Scan:
    """Every class folder's usable images; a folder-level problem is a DataValidationError.

    `hint` ends the message when the folder has too few classes.
    """
    if not raw_dir.is_dir():
        what = "is a file, not a folder" if raw_dir.exists() else "does not exist"
        raise DataValidationError(
            f"Image folder {raw_dir} {what}: create it with one subfolder of images per class, "
            f"for example {raw_dir / 'cat'}/*.png and {raw_dir / 'dog'}/*.png."
        )
    result = Scan(root=raw_dir)
    class_dirs = []
    for entry in sorted(raw_dir.iterdir()):
        if entry.is_dir() and not entry.name.startswith("."):
            class_dirs.append(entry)
        elif entry.is_file():
            result.skipped.append(Skipped(entry, "not inside a class folder"))
    if len(class_dirs) < MIN_CLASSES:
        found = (
            f"only one class folder, {class_dirs[0].name}," if class_dirs else "no class folders"
        )
        raise DataValidationError(
            f"Image folder {raw_dir} has {found}: a classifier needs at least {MIN_CLASSES} "
            f"classes; add one subfolder of images per class, for example {raw_dir / 'cat'} "
            f"and {raw_dir / 'dog'}.{hint}"
        )
    for class_dir in class_dirs:
        result.images[class_dir.name] = scan_class(class_dir, result)
    return result


def scan_class(class_dir: Path, result: Scan) -> list[Path]:
    """The usable images under one class folder (subfolders included), sorted by path."""
    usable: list[Path] = []
    skipped: list[Skipped] = []
    for path in sorted(path for path in class_dir.rglob("*") if path.is_file()):
        relative = path.relative_to(class_dir)
        if any(part.startswith(".") for part in relative.parts):
            skipped.append(Skipped(path, "hidden file"))
            continue
        try:
            info = inspect(path)
        except BadImageError as error:
            skipped.append(Skipped(path, error.reason))
            continue
        usable.append(path)
        result.modes[info.mode] += 1
        result.sizes[info.width, info.height] += 1
    result.skipped.extend(skipped)
    if len(usable) < MIN_PER_CLASS:
        have = f"only {len(usable)} usable image(s)" if usable else "no usable images"
        reasons = "; ".join(f"{item.path.name}: {item.reason}" for item in skipped[:QUOTED])
        more = f" and {len(skipped) - QUOTED} more" if len(skipped) > QUOTED else ""
        why = f" ({len(skipped)} file(s) skipped: {reasons}{more})" if skipped else ""
        raise DataValidationError(
            f"Class folder {class_dir} has {have}{why}: each class needs at least "
            f"{MIN_PER_CLASS} images (one each for train, validation and test); add .png or "
            ".jpg images to it, or remove the folder."
        )
    return usable


def split_counts(total: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """(train, val, test) sizes for one class: at least one image in each split."""
    test = max(1, round(total * test_fraction))
    val = max(1, round(total * val_fraction))
    return total - val - test, val, test


def split(
    found: Scan, val_fraction: float, test_fraction: float, seed: int
) -> list[tuple[Path, str, str]]:
    """(path, class, split) rows, stratified: each class is split in the same proportions.

    Each class is shuffled by its own generator, seeded from the seed and the class name, so
    adding a class does not reshuffle the others.
    """
    rows: list[tuple[Path, str, str]] = []
    for name, paths in found.images.items():
        train, val, _ = split_counts(len(paths), val_fraction, test_fraction)
        if train < 1:
            raise DataValidationError(
                f"Class folder {found.root / name} has {len(paths)} images, too few to leave any "
                f"for training after validation and test take theirs: add images, or lower "
                "data.val_fraction and data.test_fraction."
            )
        generator = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
        shuffled = [paths[index] for index in torch.randperm(len(paths), generator=generator)]
        for position, path in enumerate(shuffled):
            part = "train" if position < train else "val" if position < train + val else "test"
            rows.append((path, name, part))
    order = {name: index for index, name in enumerate(SPLITS)}
    return sorted(rows, key=lambda row: (order[row[2]], row[1], str(row[0])))


def shown_path(path: Path, root: Path) -> str:
    """The path as the manifest stores it: relative to the project folder when inside it."""
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()


def channel_stats(
    paths: list[Path], image_size: int, channels: int
) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of the training images, as the model sees them."""
    total = torch.zeros(channels, dtype=torch.float64)
    squares = torch.zeros(channels, dtype=torch.float64)
    for path in paths:
        pixels = load_image(path, image_size, channels).double().flatten(1)
        total += pixels.mean(dim=1)
        squares += pixels.pow(2).mean(dim=1)
    mean = total / len(paths)
    # Floored: the model divides by it, and a channel that never changes would give 0.
    std = (squares / len(paths) - mean.pow(2)).clamp_min(MIN_STD**2).sqrt()
    return [round(value, 6) for value in mean.tolist()], [round(value, 6) for value in std.tolist()]


def summarise(
    found: Scan, rows: list[tuple[Path, str, str]], image_size: int, root: Path
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """The counts, found and skipped tables, and notes on what was converted."""
    counts = Counter((name, part) for _, name, part in rows)
    per_class: list[dict[str, str | int]] = [
        {
            "class": name,
            **{part: counts[name, part] for part in SPLITS},
            "total": sum(counts[name, part] for part in SPLITS),
        }
        for name in found.images
    ]
    totals = Counter(part for _, _, part in rows)
    per_class.append(
        {"class": "all", **{part: totals[part] for part in SPLITS}, "total": len(rows)}
    )
    table = pd.DataFrame(per_class)
    found_rows = [
        {"property": "mode", "value": mode, "images": count}
        for mode, count in sorted(found.modes.items())
    ] + [
        {"property": "size", "value": f"{width}x{height}", "images": count}
        for (width, height), count in sorted(found.sizes.items())
    ]
    skipped = pd.DataFrame(
        [{"file": shown_path(item.path, root), "reason": item.reason} for item in found.skipped],
        columns=["file", "reason"],
    )
    notes = []
    target = "RGB (3 channels)" if found.channels == COLOUR else "greyscale (1 channel)"
    if len(found.modes) > 1:
        notes.append(
            f"Mixed modes ({', '.join(sorted(found.modes))}): every image is converted to "
            f"{target}; transparent pixels become black."
        )
    if len(found.sizes) > 1 or set(found.sizes) != {(image_size, image_size)}:
        notes.append(
            f"{len(found.sizes)} image size(s) found: every image is resized to "
            f"{image_size}x{image_size} (data.image_size)."
        )
    if found.skipped:
        notes.append(f"{len(found.skipped)} file(s) skipped; the table above says why.")
    return table, pd.DataFrame(found_rows), skipped, notes


def prepare(settings: Settings, raw_dir: Path | None = None) -> DataSummary:
    """Check the image folder and write the split manifest, classes.json and the summary.

    Without `raw_dir` the project's data/raw is used, and when that does not exist yet the
    bundled MNIST digits are unpacked into it first.
    """
    paths = settings.paths
    notes: list[str] = []
    if raw_dir is None:
        raw_dir = paths.raw_dir
        if not raw_dir.exists():
            count = unpack_sample(raw_dir)
            notes.append(
                f"{shown_path(raw_dir, paths.root)} did not exist: unpacked the bundled sample, "
                f"{count:,} MNIST digits (see src/{PACKAGE}/sample_data/SOURCE.md). Replace "
                "it with your own class folders to train on them."
            )
    # Absolute, so the manifest's paths do not depend on the folder `data` was run from; not
    # resolved, so messages show the path as given (macOS's /var is a link to /private/var).
    raw_dir = raw_dir.expanduser().absolute()
    default = raw_dir == paths.raw_dir
    found = scan(
        raw_dir, f" Or delete {raw_dir} to get the bundled digits back." if default else ""
    )
    config = settings.data
    rows = split(found, config.val_fraction, config.test_fraction, settings.seed)
    counts, found_table, skipped, more_notes = summarise(found, rows, config.image_size, paths.root)
    mean, std = channel_stats(
        [path for path, _, part in rows if part == "train"], config.image_size, found.channels
    )
    classes = tuple(found.images)
    paths.manifest.parent.mkdir(parents=True, exist_ok=True)
    with paths.manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "split"])
        writer.writerows((shown_path(path, paths.root), name, part) for path, name, part in rows)
    per_split = {
        part: {name: int(counts.loc[counts["class"] == name, part].iloc[0]) for name in classes}
        for part in SPLITS
    }
    paths.classes_json.write_text(
        json.dumps(
            {
                "classes": list(classes),
                "channels": found.channels,
                "image_size": config.image_size,
                "mean": mean,
                "std": std,
                "counts": per_split,
                "raw_dir": shown_path(raw_dir, paths.root),
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    summary_md = paths.reports_dir / SUMMARY_MD
    summary = DataSummary(
        classes=classes,
        channels=found.channels,
        image_size=config.image_size,
        counts=counts,
        skipped=skipped,
        found=found_table,
        notes=(*notes, *more_notes),
        written=(paths.manifest, paths.classes_json, summary_md),
    )
    summary_md.parent.mkdir(parents=True, exist_ok=True)
    summary_md.write_text("# Data\n\n" + summary.markdown(), encoding="utf-8")
    return summary
