"""Typed settings: defaults < configs/default.toml < environment < preset < `--set group.field=v`.

Every value that changes a run lives here, so the resolved config saved beside each run
(`Settings.to_toml`) reproduces it: `train --config models/runs/<run>/config.toml`.
Numbers that can switch a feature off use 0 for "off" rather than None, because TOML has no null
and a saved config must load back to the same settings.
"""

import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeAlias

from pydantic import Field, ValidationError

from .errors import InvalidSettingError
from .paths import Paths
from .settings import ProjectSettings, SettingsGroup, allowed, find_project_root

ModelName = Literal["small_cnn", "resnet"]
NormName = Literal["batch", "group", "none"]
DeviceName = Literal["auto", "cpu", "cuda", "mps"]
PrecisionName = Literal["auto", "fp32", "bf16", "fp16"]
MetricName = Literal["val_accuracy", "val_macro_f1", "val_loss"]
PresetName = Literal["fast", "debug_one_batch", "overfit_batch"]

# A nested mapping of setting values, as read from TOML or built from `--set` overrides.
Layer: TypeAlias = dict[str, object]


class DataConfig(SettingsGroup):
    """How the image folder is split and how images are fed to the model."""

    # Images are resized to image_size x image_size; the bundled digits are 28x28 already.
    image_size: int = Field(default=28, ge=8, le=1024)
    val_fraction: float = Field(default=0.15, gt=0.0, lt=0.5)
    test_fraction: float = Field(default=0.15, gt=0.0, lt=0.5)
    # Augmentation (train split only, when augment is true); 0 / false switches one off.
    augment: bool = True
    # A random shift of up to this many pixels.
    crop_padding: int = Field(default=2, ge=0)
    # Never for digits: a mirrored 2 is no 2.
    hflip: bool = False
    rotate_degrees: float = Field(default=10.0, ge=0.0, le=180.0)
    # Brightness and contrast change by up to this fraction.
    jitter: float = Field(default=0.1, ge=0.0, lt=1.0)
    # 0 loads in the training process: exact resume and the tests rely on it; more overlap
    # image decoding with training on a multi-core machine.
    num_workers: int = Field(default=0, ge=0)


class TrainConfig(SettingsGroup):
    """The model, the optimiser and its schedule, the loop's switches."""

    model: ModelName = "small_cnn"
    # group (or none) for distributed runs whose per-process batches are small.
    norm: NormName = "batch"
    width: int = Field(default=32, ge=4)
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)
    epochs: int = Field(default=12, ge=1)
    # Per process: the effective batch is batch_size x processes x accumulate_steps.
    batch_size: int = Field(default=64, ge=1)
    accumulate_steps: int = Field(default=1, ge=1)
    lr: float = Field(default=3e-3, gt=0.0)
    weight_decay: float = Field(default=0.05, ge=0.0)
    warmup_epochs: float = Field(default=1.0, ge=0.0)
    # The learning rate the cosine ends at, as a fraction of lr.
    min_lr_ratio: float = Field(default=0.01, ge=0.0, le=1.0)
    # 0 turns clipping off.
    grad_clip_norm: float = Field(default=1.0, ge=0.0)
    label_smoothing: float = Field(default=0.0, ge=0.0, lt=1.0)
    ema: bool = False
    ema_decay: float = Field(default=0.99, gt=0.0, lt=1.0)
    early_stopping_metric: MetricName = "val_accuracy"
    # Epochs without an improvement of at least min_delta before training stops; 0 never stops.
    patience: int = Field(default=5, ge=0)
    min_delta: float = Field(default=0.0, ge=0.0)
    # torch.use_deterministic_algorithms and seeded loaders: same seed, same run.
    deterministic: bool = True
    device: DeviceName = "auto"
    precision: PrecisionName = "auto"
    # Debug limits, 0 for none: optimiser steps per epoch, validation batches per epoch.
    max_steps_per_epoch: int = Field(default=0, ge=0)
    max_val_batches: int = Field(default=0, ge=0)
    # Train on one fixed batch (no augmentation): the loss must reach ~0, or the loop is broken.
    overfit_batch: bool = False
    # Stop (as if interrupted) after this many optimiser steps in all, 0 for never; the last
    # checkpoint is written first, so `train --resume` carries on from that exact step.
    stop_after_steps: int = Field(default=0, ge=0)
    # Also write the last checkpoint every this many optimiser steps, 0 for epoch ends only.
    checkpoint_every_steps: int = Field(default=0, ge=0)
    progress: bool = True


class EvaluateConfig(SettingsGroup):
    """How the test split is scored and what the report shows."""

    checkpoint: Literal["best", "last"] = "best"
    batch_size: int = Field(default=256, ge=1)
    # 0 scores every test batch; the debug preset scores one.
    max_batches: int = Field(default=0, ge=0)
    ece_bins: int = Field(default=15, ge=2)
    n_mistakes: int = Field(default=16, ge=0, le=64)


class ExportConfig(SettingsGroup):
    """The ONNX export and its checks."""

    opset: int = Field(default=17, ge=13)
    # Batch sizes the exported model is run at, to prove its batch axis is really dynamic.
    batch_sizes: tuple[int, ...] = (1, 7)
    # Largest absolute difference from PyTorch's logits that the export may have.
    tolerance: float = Field(default=1e-4, gt=0.0)


class PredictConfig(SettingsGroup):
    """Scoring new images."""

    top_k: int = Field(default=3, ge=1)
    batch_size: int = Field(default=64, ge=1)


# The presets change only what they name; `--set` still overrides them.
PRESETS: dict[PresetName, Layer] = {
    # The demo: the bundled images, trained in about a minute on a laptop CPU.
    "fast": {"train": {"epochs": 8}},
    # One batch through every stage: does the pipeline run at all?
    "debug_one_batch": {
        "train": {
            "epochs": 1,
            "max_steps_per_epoch": 1,
            "max_val_batches": 1,
            "patience": 0,
            "progress": False,
        },
        "evaluate": {"max_batches": 1},
    },
    # Memorise one batch: near-zero loss proves the model, loss and optimiser fit together.
    "overfit_batch": {
        "data": {"augment": False},
        "train": {
            "overfit_batch": True,
            "batch_size": 16,
            "epochs": 150,
            "dropout": 0.0,
            "weight_decay": 0.0,
            "warmup_epochs": 0.0,
            "min_lr_ratio": 1.0,
            "label_smoothing": 0.0,
            "ema": False,
            "patience": 0,
            "progress": False,
        },
    },
}


class Settings(ProjectSettings):
    """All settings; the environment sets any field as <PACKAGE>_<GROUP>__<FIELD>."""

    seed: int = 42
    data: DataConfig = Field(default_factory=DataConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)
    predict: PredictConfig = Field(default_factory=PredictConfig)

    @property
    def paths(self) -> Paths:
        return Paths(self.project_root)

    def values(self) -> Layer:
        """The settings that shape a run, as plain values: no folder, no tracking address."""
        # The tracking URI can hold credentials, and the folder differs between machines.
        return self.model_dump(mode="json", exclude={"project_root", "mlflow_tracking_uri"})

    def to_toml(self) -> str:
        """The resolved settings as a config file that `--config` loads back to the same run."""
        return layer_to_toml(self.values())


GROUPS = ("data", "train", "evaluate", "export", "predict")
TOP_LEVEL = ("seed", *GROUPS)


def load_settings(
    *,
    config_file: Path | None = None,
    overrides: Sequence[str] = (),
    preset: PresetName | None = None,
    root: Path | None = None,
) -> Settings:
    """Settings from the defaults, the config file, the environment, a preset and `--set`s.

    Each later layer wins over the earlier ones. Without `config_file`, configs/default.toml of
    the project is read if it exists.
    """
    root = root or find_project_root()
    paths = Paths(root)
    if config_file is None:
        file_layer = read_config_file(paths.config_file) if paths.config_file.is_file() else {}
        file_name = str(paths.config_file)
    else:
        if not config_file.is_file():
            raise InvalidSettingError(
                f"--config {config_file}: no such file; pass a TOML file such as "
                "configs/default.toml."
            )
        file_layer = read_config_file(config_file)
        file_name = str(config_file)
    # Only what the environment (or .env) actually sets, so it can sit between file and preset.
    from_env = Settings.read(root)
    env_layer: Layer = from_env.model_dump(
        exclude_unset=True, exclude={"project_root", "mlflow_tracking_uri"}
    )
    preset_layer = PRESETS[preset] if preset else {}
    override_layer = parse_overrides(overrides)
    merged = deep_merge(file_layer, env_layer, preset_layer, override_layer)
    # Passed by name, these win over pydantic-settings' own read of the environment;
    # `_env_file` is pydantic-settings' own argument, which type checkers cannot see.
    arguments: dict[str, Any] = {"_env_file": root / ".env", "project_root": root, **merged}
    try:
        return Settings(**arguments)
    except ValidationError as error:
        layers = (
            ("--set", override_layer),
            (f"preset {preset}", preset_layer),
            ("the environment", env_layer),
            (file_name, file_layer),
        )
        lines = []
        for problem in error.errors():
            keys = [str(part) for part in problem["loc"]]
            source = next((name for name, layer in layers if has_key(layer, keys)), "")
            where = f" (from {source})" if source else ""
            lines.append(f"{'.'.join(keys)}={problem['input']}{where}: {allowed(problem)}")
        raise InvalidSettingError("\n".join(lines)) from None


def read_config_file(path: Path) -> Layer:
    """A config file's values, checked for unknown top-level names (groups check their own)."""
    try:
        layer: Layer = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise InvalidSettingError(f"{path}: not valid TOML ({error}).") from None
    check_top_level(layer, str(path))
    return layer


def parse_overrides(items: Sequence[str]) -> Layer:
    """`--set train.epochs=3 --set train.model=resnet` as a nested mapping.

    A value is read as TOML (3, 0.5, true, [1, 7], "text") and otherwise kept as text, so
    `train.model=resnet` needs no quotes.
    """
    layer: Layer = {}
    for item in items:
        key, sep, raw = item.partition("=")
        keys = key.strip().split(".")
        if not sep or not all(keys):
            raise InvalidSettingError(
                f"--set {item}: write group.field=value, for example --set train.epochs=3."
            )
        try:
            value: object = tomllib.loads(f"value = {raw.strip()}")["value"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        nested: Layer = {keys[-1]: value}
        for part in reversed(keys[:-1]):
            nested = {part: nested}
        layer = deep_merge(layer, nested)
    check_top_level(layer, "--set")
    return layer


def check_top_level(layer: Mapping[str, object], source: str) -> None:
    """Unknown top-level names are errors here: the settings base ignores them for `.env`."""
    for key, value in layer.items():
        if key not in TOP_LEVEL:
            raise InvalidSettingError(
                f"{source}: {key} is not a setting; use seed or one of the groups "
                f"{', '.join(GROUPS)} (for example train.epochs)."
            )
        if key in GROUPS and not isinstance(value, Mapping):
            raise InvalidSettingError(
                f"{source}: {key} is a group of settings; set its fields, for example "
                f"{key}.{next(iter(group_fields(key)))}."
            )


def group_fields(group: str) -> tuple[str, ...]:
    annotation = Settings.model_fields[group].annotation
    return tuple(annotation.model_fields) if isinstance(annotation, type) else ()


def deep_merge(*layers: Mapping[str, object]) -> Layer:
    """Later layers win; groups merge field by field instead of replacing each other."""
    merged: Layer = {}
    for layer in layers:
        for key, value in layer.items():
            current = merged.get(key)
            if isinstance(current, Mapping) and isinstance(value, Mapping):
                merged[key] = deep_merge(current, value)
            else:
                merged[key] = dict(value) if isinstance(value, Mapping) else value
    return merged


def has_key(layer: Mapping[str, object], keys: Sequence[str]) -> bool:
    current: object = layer
    for key in keys:
        if not isinstance(current, Mapping) or key not in current:
            return False
        current = current[key]
    return True


def layer_to_toml(layer: Mapping[str, object]) -> str:
    """Flat values first, then one [table] per group: the shape of configs/default.toml."""
    lines = [f"{key} = {toml_value(value)}" for key, value in layer.items() if not is_table(value)]
    for key, value in layer.items():
        if isinstance(value, Mapping):
            lines += ["", f"[{key}]"]
            lines += [f"{name} = {toml_value(item)}" for name, item in value.items()]
    return "\n".join(lines) + "\n"


def is_table(value: object) -> bool:
    return isinstance(value, Mapping)


def toml_value(value: object) -> str:
    """One value in TOML syntax (a JSON string is a valid TOML basic string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    message = f"{value!r}: no TOML form for {type(value).__name__}"
    raise TypeError(message)
