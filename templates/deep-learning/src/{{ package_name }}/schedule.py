"""The learning-rate schedule: linear warmup, then a cosine down to a floor."""

import math

import torch
from torch.optim.lr_scheduler import LambdaLR


class WarmupCosine:
    """Multiplier of the base learning rate at an optimiser step.

    A class rather than a closure: LambdaLR saves a callable object's attributes in its
    state_dict, so a resumed run checks it continues the same schedule.
    """

    def __init__(self, warmup_steps: int, total_steps: int, min_ratio: float) -> None:
        self.warmup_steps = warmup_steps
        self.total_steps = max(total_steps, 1)
        self.min_ratio = min_ratio

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            # Starts above 0 so the first step already moves the weights.
            return (step + 1) / self.warmup_steps
        decay_steps = max(self.total_steps - self.warmup_steps, 1)
        progress = min((step - self.warmup_steps) / decay_steps, 1.0)
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.min_ratio + (1.0 - self.min_ratio) * cosine


def warmup_cosine(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int, min_ratio: float
) -> LambdaLR:
    """A scheduler to step once per optimiser step (not per epoch or per micro-batch)."""
    return LambdaLR(optimizer, WarmupCosine(warmup_steps, total_steps, min_ratio))
