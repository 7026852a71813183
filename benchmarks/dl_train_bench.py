"""The deep-learning training benchmarks: the project's loop against a bare loop, and CPU bf16.

Run inside a rendered deep-learning project, with its environment's Python, after its demo has
written the split (`python dl_train_bench.py PACKAGE OUT.json`). On the same model, data, batches
and number of epochs:

- the project's `train` (progress bar, metrics, validation, EMA off, checkpoints, MLflow logging);
- a bare loop: the same model, AdamW, gradient clipping and validation pass, and nothing else.

Both run in fp32 with the same seed; the ratio of their times is the loop's overhead. Then the
same bare training step in fp32 and under CPU bf16 autocast (where the CPU has native bf16:
the project's own precision choice says). `nox -s bench` (src/ml_milestones/bench.py) writes the
numbers into benchmarks/results.md.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

EPOCHS = 6
BF16_STEPS = 40


def seconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def bare_loop(settings: Any, data: Any, build_model: Callable[..., nn.Module]) -> float:
    """Seconds for EPOCHS epochs of the plainest loop that does the same training work."""
    train = settings.train
    torch.manual_seed(settings.seed)
    model = build_model(
        train.model,
        len(data.class_names),
        data.channels,
        train.norm,
        width=train.width,
        dropout=train.dropout,
        mean=data.mean,
        std=data.std,
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=train.lr, weight_decay=train.weight_decay)
    generator = torch.Generator().manual_seed(settings.seed)
    loader = DataLoader(data.train, batch_size=train.batch_size, shuffle=True, generator=generator)
    val_loader = DataLoader(data.val, batch_size=train.batch_size)
    loss_fn = nn.CrossEntropyLoss()

    def run() -> None:
        for _ in range(EPOCHS):
            model.train()
            for images, labels in loader:
                loss = loss_fn(model(images), labels)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip_norm)
                optimizer.step()
            model.eval()
            with torch.no_grad():
                for images, _ in val_loader:
                    model(images)

    return seconds(run)


def step_seconds(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, bf16: bool) -> float:
    """Mean seconds per training step over BF16_STEPS, after two warm-up steps."""
    optimizer = torch.optim.AdamW(model.parameters())
    loss_fn = nn.CrossEntropyLoss()

    def autocast() -> AbstractContextManager[object]:
        return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()

    def step() -> None:
        with autocast():
            loss = loss_fn(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(2):
        step()
    return seconds(lambda: [step() for _ in range(BF16_STEPS)]) / BF16_STEPS


def main(package: str, out: Path) -> None:
    config = importlib.import_module(f"{package}.config")
    loop = importlib.import_module(f"{package}.train")
    models = importlib.import_module(f"{package}.models")
    precision = importlib.import_module(f"{package}.precision")
    overrides = [
        f"train.epochs={EPOCHS}",
        f"train.patience={EPOCHS + 1}",  # every epoch runs, on both sides
        "train.precision=fp32",
        "train.ema=false",
        "train.device=cpu",
    ]
    settings = config.load_settings(overrides=overrides, root=Path.cwd())
    paths = settings.paths
    data = loop.load_data(settings, paths)
    images = len(data.train) * EPOCHS
    loop_seconds = seconds(lambda: loop.train(settings, paths, data=data))
    bare_seconds = bare_loop(settings, data, models.build_model)

    batch = [data.train[i] for i in range(settings.train.batch_size)]
    batch_images = torch.stack([image for image, _ in batch])
    batch_labels = torch.tensor([label for _, label in batch])
    flags = precision.cpu_bf16_flags()
    native_bf16 = any(flags.values())
    torch.manual_seed(0)
    model = models.build_model(
        settings.train.model, len(data.class_names), data.channels, settings.train.norm
    )
    fp32 = step_seconds(model, batch_images, batch_labels, bf16=False)
    bf16 = step_seconds(model, batch_images, batch_labels, bf16=True)
    result = {
        "epochs": EPOCHS,
        "train_images": len(data.train),
        "loop_seconds": loop_seconds,
        "bare_seconds": bare_seconds,
        "loop_images_per_second": images / loop_seconds,
        "bare_images_per_second": images / bare_seconds,
        "cpu_bf16_flags": flags,
        "native_bf16": native_bf16,
        "fp32_step_seconds": fp32,
        "bf16_step_seconds": bf16,
        "threads": torch.get_num_threads(),
    }
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
