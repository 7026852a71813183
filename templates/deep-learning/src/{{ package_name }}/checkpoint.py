"""Checkpoints: written atomically, loaded without unpickling arbitrary objects.

A checkpoint is a dict of tensors and plain values (numbers, strings, lists, dicts), which
`torch.load(weights_only=True)` reads without running any code from the file. It holds
everything a run needs to continue exactly where it stopped; `load_for_inference` rebuilds
just the model for `evaluate`, `predict` and `export`.
"""

import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import torch
from torch import nn

from .errors import MissingArtifactError, UserError
from .models import build_model

if TYPE_CHECKING:
    from .config import ModelName, NormName

# Bumped when the layout changes, so an old file gets a clear error instead of a KeyError.
FORMAT_VERSION = 1

Checkpoint = dict[str, object]


def save_atomic(payload: Checkpoint, *paths: Path) -> None:
    """Write the checkpoint to each path: to a temporary file beside it, then renamed over it.

    A crash (or Ctrl-C) mid-write leaves the previous checkpoint intact rather than a truncated
    file: the rename is atomic on one filesystem. The payload is serialised once, however many
    paths (`last` and `best` at an improving epoch's end) receive it.
    """
    buffer = io.BytesIO()
    torch.save({"format_version": FORMAT_VERSION, **payload}, buffer)
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with temporary.open("wb") as file:
                file.write(buffer.getbuffer())
                file.flush()
                # On disk before the rename, so a power cut cannot leave an empty file behind it.
                os.fsync(file.fileno())
            temporary.replace(path)
        finally:
            temporary.unlink(missing_ok=True)


def load_checkpoint(path: Path) -> Checkpoint:
    """A checkpoint's contents on the CPU; a missing, foreign or damaged file is a clear error."""
    if not path.is_file():
        raise MissingArtifactError(f"{path}: no checkpoint yet; run `train` first.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise UserError(
            f"{path}: holds objects other than tensors and plain values, so it is not loaded "
            f"({str(error).splitlines()[0]}); train again to write a safe checkpoint."
        ) from None
    except (RuntimeError, EOFError) as error:
        raise UserError(f"{path}: not a readable checkpoint ({error}); train again.") from None
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise UserError(
            f"{path}: written by another version of this project (format "
            f"{payload.get('format_version') if isinstance(payload, dict) else '?'}, expected "
            f"{FORMAT_VERSION}); train again."
        )
    return cast("Checkpoint", payload)


@dataclass(frozen=True)
class LoadedModel:
    """A trained model ready for inference, and what is known about how it was trained."""

    model: nn.Module
    class_names: list[str]
    model_name: str
    image_size: int
    channels: int
    history: list[dict[str, float]]
    best_epoch: int
    best_metric: float
    monitor: str
    run_id: str | None
    precision: str
    precision_reason: str
    config: dict[str, object]


def model_from_checkpoint(payload: Checkpoint, *, use_ema: bool = True) -> nn.Module:
    """The network of a checkpoint, in eval mode: its EMA weights if the run kept an average."""
    spec = cast("dict[str, object]", payload["model_spec"])
    model = build_model(
        cast("ModelName", spec["name"]),
        num_classes=int(str(spec["num_classes"])),
        in_channels=int(str(spec["in_channels"])),
        norm=cast("NormName", spec["norm"]),
        width=int(str(spec["width"])),
    )
    ema = payload.get("ema")
    weights = ema["model"] if use_ema and isinstance(ema, dict) else payload["model"]
    model.load_state_dict(cast("dict[str, torch.Tensor]", weights))
    return model.eval()


def load_for_inference(path: Path, device: torch.device | str = "cpu") -> LoadedModel:
    """The model of a checkpoint on `device`, in eval mode, with its classes and history."""
    payload = load_checkpoint(path)
    spec = cast("dict[str, object]", payload["model_spec"])
    return LoadedModel(
        model=model_from_checkpoint(payload).to(device),
        class_names=[str(name) for name in cast("list[object]", payload["class_names"])],
        model_name=str(spec["name"]),
        image_size=int(str(spec["image_size"])),
        channels=int(str(spec["in_channels"])),
        history=cast("list[dict[str, float]]", payload["history"]),
        best_epoch=int(str(payload["best_epoch"])),
        best_metric=float(str(payload["best_metric"])),
        monitor=str(payload["monitor"]),
        run_id=cast("str | None", payload["run_id"]),
        precision=str(payload["precision"]),
        precision_reason=str(payload["precision_reason"]),
        config=cast("dict[str, object]", payload["config"]),
    )
