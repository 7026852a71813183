"""ONNX export with a dynamic batch axis, checked against PyTorch with ONNX Runtime."""

import json
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from .config import ExportConfig
from .errors import UserError
from .paths import Paths

INPUT_NAME = "images"
OUTPUT_NAME = "logits"
BATCH_AXIS = "batch"


class ExportError(UserError):
    """The exported model does not behave like the PyTorch one: it is not safe to ship."""


@dataclass(frozen=True)
class Parity:
    """One batch run through both runtimes."""

    batch_size: int
    output_shape: list[int]
    max_abs_diff: float


@dataclass(frozen=True)
class ExportResult:
    """Where the model went, what it takes, and how closely ONNX Runtime matches PyTorch."""

    path: str
    opset: int
    input_name: str
    input_shape: list[int | str]
    output_name: str
    tolerance: float
    parity: list[Parity]
    size_bytes: int
    # The parity figure, relative to reports/, once drawn.
    figure: str | None = None

    @property
    def max_abs_diff(self) -> float:
        return max(check.max_abs_diff for check in self.parity)


def to_onnx(model: torch.nn.Module, example: torch.Tensor, path: Path, opset: int) -> Path:
    """Trace the model into an ONNX file whose first axis (the batch) has no fixed size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().float().cpu()
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of `dynamo=True`, but the dynamo path
        # fails on this model in this torch version (TorchExportError) while this one is exact.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (example[:1].float().cpu(),),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: BATCH_AXIS}, OUTPUT_NAME: {0: BATCH_AXIS}},
        )
    return path


def input_shape(path: Path) -> list[int | str]:
    """The ONNX input's shape: a number per fixed axis, the axis name where it is dynamic."""
    graph = onnx.load(str(path)).graph
    dims = graph.input[0].type.tensor_type.shape.dim
    return [dim.dim_param or dim.dim_value for dim in dims]


def check_parity(
    expected: np.ndarray, actual: np.ndarray, batch_size: int, tolerance: float
) -> Parity:
    """Compare one batch's outputs; raise when they differ in shape or by more than tolerance."""
    if actual.shape != expected.shape:
        raise ExportError(
            f"ONNX Runtime returned shape {list(actual.shape)} for a batch of {batch_size}, "
            f"PyTorch {list(expected.shape)}: the exported batch axis is not dynamic. Export "
            "again with `dynamic_axes` naming axis 0 of the input and the output."
        )
    diff = float(np.abs(actual.astype(np.float64) - expected.astype(np.float64)).max())
    if not diff <= tolerance:
        raise ExportError(
            f"ONNX Runtime's logits differ from PyTorch's by up to {diff:.3g} at batch size "
            f"{batch_size}, above the tolerance {tolerance:g}: the exported model does not "
            "compute what the trained one does. Check the model for operations ONNX exports "
            "differently, or raise `export.tolerance` if this difference is acceptable."
        )
    return Parity(batch_size=batch_size, output_shape=list(actual.shape), max_abs_diff=diff)


def examples_of(images: torch.Tensor, batch_size: int) -> torch.Tensor:
    """`batch_size` images taken in turn from `images`, repeating them if there are fewer."""
    index = torch.arange(batch_size) % len(images)
    return images[index].float().cpu()


def verify(
    model: torch.nn.Module,
    path: Path,
    images: torch.Tensor,
    batch_sizes: Sequence[int],
    tolerance: float,
) -> list[Parity]:
    """Run each batch size through PyTorch and ONNX Runtime and compare the logits."""
    shape = input_shape(path)
    if shape[0] != BATCH_AXIS:
        raise ExportError(
            f"{path} takes a fixed batch of {shape[0]} images: its first axis must be the "
            f"dynamic axis '{BATCH_AXIS}'. Export again with `{BATCH_AXIS}` in `dynamic_axes`."
        )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model = model.eval().float().cpu()
    checks = []
    for batch_size in batch_sizes:
        batch = examples_of(images, batch_size)
        with torch.inference_mode():
            expected = model(batch).numpy()
        (actual,) = session.run([OUTPUT_NAME], {INPUT_NAME: batch.numpy()})
        checks.append(check_parity(expected, np.asarray(actual), batch_size, tolerance))
    return checks


def export(
    model: torch.nn.Module, images: torch.Tensor, path: Path, config: ExportConfig
) -> ExportResult:
    """Export to ONNX, then prove the batch axis is dynamic and the outputs match."""
    to_onnx(model, images, path, config.opset)
    parity = verify(model, path, images, config.batch_sizes, config.tolerance)
    return ExportResult(
        path=str(path),
        opset=config.opset,
        input_name=INPUT_NAME,
        input_shape=input_shape(path),
        output_name=OUTPUT_NAME,
        tolerance=config.tolerance,
        parity=parity,
        size_bytes=path.stat().st_size,
    )


def export_json(paths: Paths) -> Path:
    return paths.reports_dir / "export.json"


def save(result: ExportResult, paths: Paths) -> Path:
    target = export_json(paths)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(asdict(result), indent=2) + "\n")
    return target


def load(paths: Paths) -> ExportResult | None:
    """The last export's result, or None when the model has not been exported."""
    source = export_json(paths)
    if not source.is_file():
        return None
    fields = json.loads(source.read_text())
    fields["parity"] = [Parity(**check) for check in fields["parity"]]
    return ExportResult(**fields)
