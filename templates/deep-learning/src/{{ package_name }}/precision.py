"""Mixed precision: which dtype to compute in on this device, and why.

CUDA: bf16 where the GPU has it (no loss scaling needed), else fp16 with a GradScaler.
CPU: bf16 autocast only on CPUs with native bf16 instructions (AVX512-BF16 or AMX): elsewhere
bf16 is emulated and runs slower than fp32, so fp32 is chosen and the reason says so.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Literal

import torch

from .config import PrecisionName
from .errors import InvalidSettingError

Computed = Literal["fp32", "bf16", "fp16"]
DTYPES: dict[Computed, torch.dtype] = {
    "fp32": torch.float32,
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
}


@dataclass(frozen=True)
class Precision:
    """What the forward pass computes in on `device_type`, and the reason it was chosen."""

    name: Computed
    device_type: str
    reason: str

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.name]

    @property
    def uses_scaler(self) -> bool:
        """fp16 gradients underflow without loss scaling; bf16 has fp32's range and needs none."""
        return self.name == "fp16"

    def autocast(self) -> AbstractContextManager[object]:
        """The context the forward pass and the loss run in (nothing for fp32)."""
        if self.name == "fp32":
            return nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def scaler(self) -> torch.amp.GradScaler:
        """A GradScaler that scales only for fp16; disabled, it passes calls straight through."""
        return torch.amp.GradScaler(self.device_type, enabled=self.uses_scaler)


def cpu_bf16_flags() -> dict[str, bool]:
    """The CPU's native bf16 instruction sets, as torch detects them."""
    capabilities = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    return {flag: bool(capabilities.get(flag)) for flag in ("avx512_bf16", "amx_bf16")}


def choose_precision(
    device: torch.device,
    requested: PrecisionName,
    cpu_flags: Callable[[], dict[str, bool]] | None = None,
) -> Precision:
    """The precision for `device`: `requested` if it is supported and sensible, with a reason.

    `cpu_flags` replaces the CPU's bf16 detection (the tests simulate a CPU without bf16).
    """
    kind = device.type
    if requested == "fp32":
        return Precision("fp32", kind, "fp32 as configured (train.precision).")
    if kind == "cuda":
        return choose_cuda(device, requested)
    if kind == "cpu":
        return choose_cpu(requested, (cpu_flags or cpu_bf16_flags)())
    if requested == "auto":
        return Precision("fp32", kind, f"fp32: mixed precision is not set up for {kind}.")
    raise InvalidSettingError(
        f"train.precision={requested}: not supported on {kind}; use auto or fp32."
    )


def choose_cuda(device: torch.device, requested: PrecisionName) -> Precision:
    has_bf16 = torch.cuda.is_bf16_supported()
    name = torch.cuda.get_device_name(device)
    if requested == "fp16":
        return Precision("fp16", "cuda", "fp16 as configured, with a GradScaler for the loss.")
    if requested == "bf16" and not has_bf16:
        raise InvalidSettingError(
            f"train.precision=bf16: {name} has no bf16; use fp16 (with loss scaling) or auto."
        )
    if has_bf16:
        return Precision("bf16", "cuda", f"bf16: {name} supports it, and it needs no GradScaler.")
    return Precision("fp16", "cuda", f"fp16 with a GradScaler: {name} has no bf16.")


def choose_cpu(requested: PrecisionName, flags: dict[str, bool]) -> Precision:
    if requested == "fp16":
        raise InvalidSettingError(
            "train.precision=fp16: fp16 training needs a CUDA GPU; "
            "on the CPU use auto, bf16 or fp32."
        )
    native = [flag for flag, present in flags.items() if present]
    if native:
        return Precision(
            "bf16", "cpu", f"bf16 autocast: this CPU has native bf16 ({', '.join(native)})."
        )
    return Precision(
        "fp32",
        "cpu",
        f"fp32{'' if requested == 'auto' else ' instead of bf16'}: this CPU has no native bf16 "
        "(avx512_bf16 or amx_bf16), and emulated bf16 runs slower than fp32.",
    )
