"""The training loop: plain PyTorch, top to bottom, nothing hidden behind callbacks.

One call of `train` does, in order: seed, load data, build the model, optimiser, schedule,
precision and EMA, restore the last checkpoint with `resume=True`, then for each epoch train
(gradient accumulation, clipping, AdamW step, schedule step, EMA update), validate, log to
MLflow, checkpoint `last` (and `best` on improvement) and check early stopping.

A resumed run continues exactly: the checkpoint holds the position inside the epoch, and the
epoch's data order is a function of (seed, epoch), so it replays the same batches with the same
random states, and logs to the same MLflow run.
"""

from __future__ import annotations

import json
import math
import time
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, cast

import mlflow
import torch
from mlflow.exceptions import MlflowException
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, Subset

from . import tracking
from .checkpoint import Checkpoint, load_checkpoint, save_atomic
from .console import console
from .dataset import make_loader, set_epoch
from .distributed import (
    Distributed,
    ShardSampler,
    all_reduce_sum,
    barrier,
    broadcast_text,
    local_rank,
    select_device,
    setup,
    teardown,
    unwrap,
    wrap,
)
from .ema import ModelEma
from .errors import UserError
from .models import build_model
from .precision import Precision, choose_precision
from .schedule import warmup_cosine
from .seeding import (
    RngState,
    epoch_generator,
    epoch_seed,
    rng_state,
    seed_everything,
    seed_worker,
    set_rng_state,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from torch.optim.lr_scheduler import LambdaLR

    from .config import Settings
    from .paths import Paths

Sample = tuple[torch.Tensor, int]

# Settings a resumed run may change: they do not alter what is computed, only how it is run.
RESUMABLE_CHANGES = frozenset(
    {
        "train.progress",
        "train.stop_after_steps",
        "train.checkpoint_every_steps",
        "train.device",
        "data.num_workers",
    }
)
# The groups that only later stages read.
LATER_STAGES = ("evaluate", "export", "predict")


@dataclass(frozen=True)
class TrainData:
    """The training and validation images, and what the model needs to know about them."""

    train: Dataset[Sample]
    val: Dataset[Sample]
    class_names: list[str]
    channels: int
    image_size: int
    # Per channel, of the training images: the model standardises its input with them.
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None


@dataclass(frozen=True)
class TrainResult:
    """What a call of `train` did; the checkpoints and the MLflow run hold the rest."""

    history: list[dict[str, float]]
    best_metric: float
    best_epoch: int
    run_id: str | None
    images_per_second: float
    precision: str
    precision_reason: str
    # The training loss of every batch this call trained on, in order.
    batch_losses: list[float]
    stopped_early: bool
    # True when train.stop_after_steps cut the run short: `train --resume` continues it.
    interrupted: bool


@dataclass
class LoopState:
    """Where the run is; saved in every checkpoint, so a resumed run starts at the same place."""

    epoch: int = 0
    # Batches of `epoch` already trained on (by each process), for a mid-epoch resume.
    batches_done: int = 0
    global_step: int = 0
    best_metric: float = math.nan
    best_epoch: int = 0
    # Epochs since the monitored metric last improved, for early stopping.
    bad_epochs: int = 0
    finished: bool = False
    history: list[dict[str, float]] = field(default_factory=list)
    run_id: str | None = None
    # This epoch's running sums (on the device, summed without a sync per batch).
    loss_sum: torch.Tensor = field(default_factory=lambda: torch.zeros((), dtype=torch.float64))
    correct: torch.Tensor = field(default_factory=lambda: torch.zeros((), dtype=torch.int64))
    seen: torch.Tensor = field(default_factory=lambda: torch.zeros((), dtype=torch.int64))
    train_seconds: float = 0.0

    def start_epoch(self, device: torch.device) -> None:
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.correct = torch.zeros((), dtype=torch.int64, device=device)
        self.seen = torch.zeros((), dtype=torch.int64, device=device)
        self.train_seconds = 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "epoch": self.epoch,
            "batches_done": self.batches_done,
            "global_step": self.global_step,
            "best_metric": self.best_metric,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "finished": self.finished,
            "history": self.history,
            "run_id": self.run_id,
            "epoch_sums": {
                "loss_sum": self.loss_sum.cpu(),
                "correct": self.correct.cpu(),
                "seen": self.seen.cpu(),
                "train_seconds": self.train_seconds,
            },
        }

    @classmethod
    def from_dict(cls, saved: Checkpoint, device: torch.device) -> LoopState:
        sums = cast("dict[str, object]", saved["epoch_sums"])
        return cls(
            epoch=int(str(saved["epoch"])),
            batches_done=int(str(saved["batches_done"])),
            global_step=int(str(saved["global_step"])),
            best_metric=float(str(saved["best_metric"])),
            best_epoch=int(str(saved["best_epoch"])),
            bad_epochs=int(str(saved["bad_epochs"])),
            finished=bool(saved["finished"]),
            history=cast("list[dict[str, float]]", saved["history"]),
            run_id=cast("str | None", saved["run_id"]),
            loss_sum=cast("torch.Tensor", sums["loss_sum"]).to(device),
            correct=cast("torch.Tensor", sums["correct"]).to(device),
            seen=cast("torch.Tensor", sums["seen"]).to(device),
            train_seconds=float(str(sums["train_seconds"])),
        )


@dataclass
class Run:
    """Everything a training run updates, built once by `prepare`."""

    settings: Settings
    paths: Paths
    data: TrainData
    context: Distributed
    device: torch.device
    precision: Precision
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: LambdaLR
    scaler: torch.amp.GradScaler
    ema: ModelEma | None
    # The training batches; epoch_loader points them at the current epoch and position.
    loader: DataLoader[Sample]
    steps_per_epoch: int
    state: LoopState = field(default_factory=LoopState)
    batch_losses: list[torch.Tensor] = field(default_factory=list)


def train(
    settings: Settings, paths: Paths, resume: bool = False, *, data: TrainData | None = None
) -> TrainResult:
    """Train (or, with `resume`, continue training) and write the checkpoints; see the module.

    `data` replaces the images of the split manifest (the tests pass small tensors).
    Under torchrun each process calls this; they share the work and rank 0 writes.
    """
    device = select_device(settings.train.device, local_rank())
    context = setup(device)
    try:
        run = prepare(settings, paths, data or load_data(settings, paths), context, device)
        if resume:
            restore(run, load_checkpoint(paths.checkpoint_last))
        if run.state.finished:
            say(run, f"The run in {paths.checkpoint_last} has finished; nothing to resume.")
            return result(run, stopped_early=False, interrupted=False)
        with tracking_run(run, resumed=resume):
            return fit(run)
    finally:
        teardown(context)


def load_data(settings: Settings, paths: Paths) -> TrainData:
    """The train and validation splits of the manifest `data` wrote."""
    from .augment import Augment
    from .dataset import ManifestDataset, load_split

    split = load_split(paths)
    info = split.info
    size = settings.data.image_size
    # The overfit check memorises one fixed batch, so that batch must not change between steps.
    augment = settings.data.augment and not settings.train.overfit_batch
    return TrainData(
        train=ManifestDataset(
            split.part("train"),
            size,
            info.channels,
            augment=Augment.from_config(settings.data) if augment else None,
            seed=settings.seed,
        ),
        val=ManifestDataset(split.part("val"), size, info.channels),
        class_names=list(info.names),
        channels=info.channels,
        image_size=size,
        mean=info.mean,
        std=info.std,
    )


def prepare(
    settings: Settings, paths: Paths, data: TrainData, context: Distributed, device: torch.device
) -> Run:
    """Seed, then build the model, the optimiser and everything else the loop steps."""
    config = settings.train
    seed_everything(settings.seed, deterministic=config.deterministic)
    if config.overfit_batch:
        one_batch = Subset(data.train, range(min(config.batch_size, len_of(data.train))))
        data = replace(data, train=one_batch, val=one_batch)
    if len_of(data.train) == 0 or len_of(data.val) == 0:
        raise UserError("The train or validation split is empty: add images and run `data` again.")

    model = build_model(
        config.model,
        num_classes=len(data.class_names),
        in_channels=data.channels,
        norm=config.norm,
        width=config.width,
        dropout=config.dropout,
        mean=data.mean,
        std=data.std,
    ).to(device)
    precision = choose_precision(device, config.precision)
    # The EMA copy averages the bare model's weights, so it is made before the DDP wrapper.
    ema = ModelEma(model, config.ema_decay) if config.ema else None

    # Weight decay shrinks weights, not biases or normalisation scales (1-d parameters).
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=config.lr,
    )
    loader = make_loader(
        data.train,
        batch_size=config.batch_size,
        shuffle=True,
        seed=settings.seed,
        num_workers=settings.data.num_workers,
        world_size=context.world_size,
        rank=context.rank,
        pin_memory=device.type == "cuda",
    )
    batches_per_epoch = len(loader)
    steps_per_epoch = math.ceil(batches_per_epoch / config.accumulate_steps)
    if config.max_steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, config.max_steps_per_epoch)
    scheduler = warmup_cosine(
        optimizer,
        warmup_steps=round(config.warmup_epochs * steps_per_epoch),
        total_steps=steps_per_epoch * config.epochs,
        min_ratio=config.min_lr_ratio,
    )
    return Run(
        settings=settings,
        paths=paths,
        data=data,
        context=context,
        device=device,
        precision=precision,
        model=wrap(model, context, device),
        optimizer=optimizer,
        scheduler=scheduler,
        scaler=precision.scaler(),
        ema=ema,
        loader=loader,
        steps_per_epoch=steps_per_epoch,
    )


def fit(run: Run) -> TrainResult:
    """The epochs: train, validate, log, checkpoint, stop early when the metric stalls."""
    config = run.settings.train
    state = run.state
    say(run, f"Precision: {run.precision.reason}")
    with progress_bar(run) as progress:
        for epoch in range(state.epoch, config.epochs):
            state.epoch = epoch
            if state.batches_done == 0:
                state.start_epoch(run.device)
            if not train_one_epoch(run, progress):
                save(run, run.paths.checkpoint_last)
                say(run, f"Stopped after step {state.global_step}: `train --resume` continues.")
                return result(run, stopped_early=False, interrupted=True)

            metrics = epoch_metrics(run)
            state.history.append(metrics)
            improved = update_early_stopping(run, metrics)
            state.epoch, state.batches_done = epoch + 1, 0
            stop = bool(config.patience) and state.bad_epochs >= config.patience
            state.finished = stop or state.epoch == config.epochs
            log_epoch(run, metrics, improved=improved)
            improved_best = [run.paths.checkpoint_best] if improved else []
            save(run, run.paths.checkpoint_last, *improved_best)
            if stop:
                metric, patience = config.early_stopping_metric, config.patience
                say(run, f"Early stop: no better {metric} in {patience} epochs.")
                return result(run, stopped_early=True, interrupted=False)
    return result(run, stopped_early=False, interrupted=False)


def train_one_epoch(run: Run, progress: Progress | None) -> bool:
    """Train on the rest of the current epoch; False when stop_after_steps interrupts it."""
    config = run.settings.train
    state = run.state
    model, scaler = run.model, run.scaler
    accumulate = config.accumulate_steps
    loader = epoch_loader(run)
    batches_in_epoch = state.batches_done + len(loader)
    if config.max_steps_per_epoch:
        batches_in_epoch = min(batches_in_epoch, config.max_steps_per_epoch * accumulate)
    loss_function = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    task = start_task(progress, run, batches_in_epoch)
    model.train()
    started = time.perf_counter()
    images_done = 0

    for index, (batch_images, batch_labels) in enumerate(loader, start=state.batches_done):
        if index >= batches_in_epoch:
            break
        images = batch_images.to(run.device, non_blocking=True)
        labels = batch_labels.to(run.device, non_blocking=True)
        # An optimiser step every `accumulate` batches, and at the end of the epoch.
        is_step = (index + 1) % accumulate == 0 or index + 1 == batches_in_epoch
        with no_sync_unless(model, is_step):
            with run.precision.autocast():
                logits = model(images)
                loss = loss_function(logits, labels)
            # Dividing by `accumulate` makes the summed gradients an average over the batches.
            scaler.scale(loss / accumulate).backward()

        count = labels.shape[0]
        state.loss_sum += loss.detach().double() * count
        state.correct += (logits.detach().argmax(dim=1) == labels).sum()
        state.seen += count
        run.batch_losses.append(loss.detach())
        if progress is not None and task is not None:
            images_done += count
            rate = images_done / max(time.perf_counter() - started, 1e-9)
            progress.update(task, advance=1, throughput=f"{rate:,.0f} img/s")
        if not is_step:
            continue

        optimizer_step(run)
        state.batches_done = index + 1
        if config.stop_after_steps and state.global_step >= config.stop_after_steps:
            state.train_seconds += time.perf_counter() - started
            return False
        if config.checkpoint_every_steps and state.global_step % config.checkpoint_every_steps == 0:
            state.train_seconds += time.perf_counter() - started
            save(run, run.paths.checkpoint_last)
            started = time.perf_counter()
    state.train_seconds += time.perf_counter() - started
    return True


def epoch_loader(run: Run) -> DataLoader[Sample]:
    """The current epoch's batches, less those an interrupted run already trained on.

    The order is a function of (seed, epoch), the same in a resumed run, so skipping the first
    `batches_done` batches continues exactly where the interrupted run stopped.
    """
    set_epoch(run.loader, run.state.epoch, skip_batches=run.state.batches_done)
    return run.loader


def optimizer_step(run: Run) -> None:
    """Clip, step AdamW (through the GradScaler), step the schedule, update the EMA."""
    config = run.settings.train
    scaler, optimizer = run.scaler, run.optimizer
    if config.grad_clip_norm:
        # Clip the true gradients: undo the fp16 loss scale first (a no-op otherwise).
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(run.model.parameters(), config.grad_clip_norm)
    # With fp16, skips the step if the scaled gradients overflowed (and lowers the scale).
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    run.scheduler.step()
    if run.ema is not None:
        run.ema.update(unwrap(run.model))
    run.state.global_step += 1


def no_sync_unless(model: nn.Module, is_step: bool) -> AbstractContextManager[object]:
    """Between optimiser steps, DDP need not average gradients: only the last backward syncs."""
    if isinstance(model, DistributedDataParallel) and not is_step:
        return model.no_sync()
    return nullcontext()


@torch.no_grad()
def validate(run: Run) -> dict[str, float]:
    """Loss, accuracy and macro F1 on the validation split (the EMA weights if kept).

    Each process scores its own shard; the confusion matrix and loss are summed over all.
    """
    config = run.settings.train
    model = run.ema.module if run.ema is not None else unwrap(run.model)
    model.eval()
    loader = DataLoader(
        run.data.val,
        # Training's batch size: a setting a resumed run keeps, so its sums add up identically.
        batch_size=config.batch_size,
        sampler=ShardSampler(len_of(run.data.val), run.context),
        num_workers=run.settings.data.num_workers,
        worker_init_fn=seed_worker,
        # A loader draws its workers' base seed from this, not from the global generator that
        # dropout and a resumed run's restored state depend on.
        generator=epoch_generator(run.settings.seed, run.state.epoch),
    )
    classes = len(run.data.class_names)
    confusion = torch.zeros((classes, classes), dtype=torch.int64, device=run.device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=run.device)
    for index, (batch_images, batch_labels) in enumerate(loader):
        if config.max_val_batches and index >= config.max_val_batches:
            break
        images, labels = batch_images.to(run.device), batch_labels.to(run.device)
        with run.precision.autocast():
            logits = model(images)
        loss_sum += nn.functional.cross_entropy(logits.float(), labels, reduction="sum").double()
        predicted = logits.argmax(dim=1)
        confusion += torch.bincount(
            labels * classes + predicted, minlength=classes * classes
        ).reshape(classes, classes)
    all_reduce_sum(confusion, run.context)
    all_reduce_sum(loss_sum, run.context)
    total = int(confusion.sum())
    true_positives = confusion.diag().double()
    precision = true_positives / confusion.sum(dim=0).clamp(min=1)
    recall = true_positives / confusion.sum(dim=1).clamp(min=1)
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    return {
        "val_loss": float(loss_sum) / max(total, 1),
        "val_accuracy": float(true_positives.sum()) / max(total, 1),
        "val_macro_f1": float(f1.mean()),
    }


def epoch_metrics(run: Run) -> dict[str, float]:
    """The epoch's training metrics, summed over processes, plus the validation metrics."""
    state = run.state
    sums = torch.stack([state.loss_sum, state.correct.double(), state.seen.double()])
    all_reduce_sum(sums, run.context)
    loss_sum, correct, seen = (float(value) for value in sums)
    # Every process trains at the same time, so the world's throughput is the sum of theirs.
    return {
        "epoch": float(state.epoch + 1),
        "train_loss": loss_sum / max(seen, 1),
        "train_accuracy": correct / max(seen, 1),
        **validate(run),
        "lr": run.optimizer.param_groups[0]["lr"],
        "images_per_second": seen / max(state.train_seconds, 1e-9),
        "seconds": state.train_seconds,
    }


def update_early_stopping(run: Run, metrics: dict[str, float]) -> bool:
    """Whether the monitored metric improved by more than min_delta; else one more bad epoch."""
    config = run.settings.train
    state = run.state
    value = metrics[config.early_stopping_metric]
    # Lower is better for a loss, higher for accuracy and F1.
    sign = -1.0 if config.early_stopping_metric == "val_loss" else 1.0
    gain = sign * (value - state.best_metric)
    improved = math.isnan(state.best_metric) or gain > config.min_delta
    if improved:
        state.best_metric, state.best_epoch, state.bad_epochs = value, state.epoch + 1, 0
    else:
        state.bad_epochs += 1
    return improved


def log_epoch(run: Run, metrics: dict[str, float], *, improved: bool) -> None:
    """Rank 0: print the epoch, log it to MLflow, write the history file."""
    if not run.context.is_main:
        return
    state = run.state
    star = " *" if improved else ""
    console.print(
        f"epoch {int(metrics['epoch'])}/{run.settings.train.epochs}  "
        f"loss {metrics['train_loss']:.4f}  val_loss {metrics['val_loss']:.4f}  "
        f"val_acc {metrics['val_accuracy']:.4f}  {metrics['images_per_second']:.0f} img/s{star}",
        highlight=False,
    )
    if mlflow.active_run() is not None:
        # One write of the whole epoch, waited for. MLflow's asynchronous queue costs more: its
        # logging thread polls once a second, so each flush and the run's end wait up to 1 s.
        mlflow.log_metrics(
            {name: value for name, value in metrics.items() if name != "epoch"},
            step=int(metrics["epoch"]),
        )
    history_file = run_dir(run) / "history.json"
    history_file.parent.mkdir(parents=True, exist_ok=True)
    history_file.write_text(json.dumps(state.history, indent=2) + "\n", encoding="utf-8")


def save(run: Run, *paths: Path) -> None:
    """Rank 0 writes the checkpoint; the others wait, so none runs ahead of a file it may need.

    Every process must call this (the wait is a collective barrier).
    """
    if run.context.is_main:
        save_atomic(checkpoint(run), *paths)
    barrier(run.context)


def checkpoint(run: Run) -> Checkpoint:
    """Everything `restore` needs to continue exactly, as tensors and plain values."""
    settings = run.settings
    config = settings.train
    state = run.state
    return {
        "model": unwrap(run.model).state_dict(),
        "model_spec": {
            "name": config.model,
            "num_classes": len(run.data.class_names),
            "in_channels": run.data.channels,
            "norm": config.norm,
            "width": config.width,
            "image_size": run.data.image_size,
        },
        "class_names": run.data.class_names,
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "scaler": run.scaler.state_dict(),
        "ema": run.ema.state_dict() if run.ema is not None else None,
        **state.to_dict(),
        "monitor": config.early_stopping_metric,
        "rng": rng_state(),
        # The data order is a function of these: DistributedSampler's seed and epoch, the
        # position inside the epoch, and the seed of the loader's generator (worker seeds).
        "sampler": {
            "seed": settings.seed,
            "epoch": state.epoch,
            "skip_samples": state.batches_done * config.batch_size,
            "world_size": run.context.world_size,
            "loader_generator_seed": epoch_seed(settings.seed, state.epoch),
        },
        "config": settings.values(),
        "precision": run.precision.name,
        "precision_reason": run.precision.reason,
    }


def restore(run: Run, saved: Checkpoint) -> None:
    """Put the run back in the checkpoint's state; its settings must match this run's."""
    check_same_settings(run, cast("dict[str, object]", saved["config"]))
    unwrap(run.model).load_state_dict(cast("dict[str, torch.Tensor]", saved["model"]))
    run.optimizer.load_state_dict(cast("dict[str, object]", saved["optimizer"]))
    run.scheduler.load_state_dict(cast("dict[str, object]", saved["scheduler"]))
    run.scaler.load_state_dict(cast("dict[str, object]", saved["scaler"]))
    ema = saved.get("ema")
    if run.ema is not None and isinstance(ema, dict):
        run.ema.load_state_dict(ema)
    run.state = LoopState.from_dict(saved, run.device)
    sampler = cast("dict[str, int]", saved["sampler"])
    if run.state.batches_done and sampler["world_size"] != run.context.world_size:
        # Mid-epoch, the position counts batches of each process's shard: another number of
        # processes shards the epoch differently. At an epoch's end any number can take over.
        raise UserError(
            f"{run.paths.checkpoint_last} stopped mid-epoch with {sampler['world_size']} "
            f"process(es); resume it with the same number (this run has {run.context.world_size})."
        )
    # Last: building the run above drew random numbers too.
    set_rng_state(cast("RngState", saved["rng"]))


def check_same_settings(run: Run, saved: dict[str, object]) -> None:
    """A resumed run continues the same computation, so only harmless settings may change."""
    now = flatten(run.settings.values())
    before = flatten(saved)
    changed = sorted(
        key
        for key in now.keys() | before.keys()
        if key not in RESUMABLE_CHANGES
        and not key.startswith(LATER_STAGES)
        and now.get(key) != before.get(key)
    )
    if changed:
        differences = ", ".join(f"{key} ({before.get(key)} -> {now.get(key)})" for key in changed)
        raise UserError(
            f"--resume continues the run with its own settings, but these changed: {differences}. "
            "Undo the changes, or train without --resume to start a new run."
        )


def flatten(values: dict[str, object], prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@contextmanager
def tracking_run(run: Run, *, resumed: bool) -> Iterator[None]:
    """Rank 0's MLflow run: a new one, or, resumed, the one the checkpoint names."""
    settings = run.settings
    if not run.context.is_main:
        # The other processes learn the run id, so the whole world agrees on it.
        run.state.run_id = broadcast_text(None, run.context)
        yield
        return
    with ExitStack() as stack:
        if resumed and run.state.run_id and run_exists(settings, run.state.run_id):
            active = stack.enter_context(mlflow.start_run(run_id=run.state.run_id))
            mlflow.set_tag("resumed_at_step", str(run.state.global_step))
        else:
            if resumed:
                missing = f"MLflow run {run.state.run_id} is not in {settings.tracking_uri}"
                say(run, f"{missing}: logging to a new run.")
            active = stack.enter_context(tracking.start_run(settings, run_name="train"))
            params = flatten(settings.values())
            mlflow.log_params({key: str(value) for key, value in params.items()})
        run.state.run_id = active.info.run_id
        broadcast_text(run.state.run_id, run.context)
        config_file = run_dir(run) / "config.toml"
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(settings.to_toml(), encoding="utf-8")
        mlflow.log_artifact(str(config_file))
        mlflow.set_tag("precision", run.precision.reason)
        yield
        if run.paths.checkpoint_best.is_file():
            mlflow.log_artifact(str(run.paths.checkpoint_best), artifact_path="checkpoints")


def run_exists(settings: Settings, run_id: str) -> bool:
    """Whether the tracking store holds `run_id` (another store, or a deleted run: it does not)."""
    tracking.use_experiment(settings.tracking_uri)
    try:
        mlflow.MlflowClient().get_run(run_id)
    except MlflowException:
        return False
    return True


def run_dir(run: Run) -> Path:
    """models/runs/<MLflow run id>: the run's resolved config and its history."""
    return run.paths.runs_dir / (run.state.run_id or "unnamed")


def result(run: Run, *, stopped_early: bool, interrupted: bool) -> TrainResult:
    state = run.state
    seen = sum(row["images_per_second"] * row["seconds"] for row in state.history)
    seconds = sum(row["seconds"] for row in state.history)
    losses = torch.stack(run.batch_losses).float().tolist() if run.batch_losses else []
    return TrainResult(
        history=state.history,
        best_metric=state.best_metric,
        best_epoch=state.best_epoch,
        run_id=state.run_id,
        images_per_second=seen / seconds if seconds else 0.0,
        precision=run.precision.name,
        precision_reason=run.precision.reason,
        batch_losses=losses,
        stopped_early=stopped_early,
        interrupted=interrupted,
    )


def progress_bar(run: Run) -> AbstractContextManager[Progress | None]:
    """A rich progress bar with images/s on rank 0; nothing elsewhere or when switched off."""
    if not (run.settings.train.progress and run.context.is_main):
        return nullcontext()
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[throughput]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def start_task(progress: Progress | None, run: Run, total: int) -> TaskID | None:
    if progress is None:
        return None
    return progress.add_task(
        f"epoch {run.state.epoch + 1}/{run.settings.train.epochs}",
        total=total,
        completed=run.state.batches_done,
        throughput="",
    )


def say(run: Run, message: str) -> None:
    if run.context.is_main:
        console.print(message, highlight=False)


def len_of(dataset: Dataset[Sample]) -> int:
    """len() of a map-style dataset (torch's Dataset type does not declare it)."""
    return len(dataset)  # type: ignore[arg-type]
