"""An exponential moving average of the weights: often a better model than the last step's."""

import copy
from typing import cast

import torch
from torch import nn


class ModelEma:
    """A frozen copy of the model whose weights trail the trained ones.

    After each optimiser step: ema = decay * ema + (1 - decay) * weights. Early on the decay is
    lowered to (1 + n) / (10 + n), so the average is not dominated by the random initial weights.
    Buffers (BatchNorm's running statistics) are copied, not averaged.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(model).eval()
        for parameter in self.module.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for average, weight in zip(self.module.parameters(), model.parameters(), strict=True):
            average.lerp_(weight.detach(), 1.0 - decay)
        for mine, theirs in zip(self.module.buffers(), model.buffers(), strict=True):
            mine.copy_(theirs)

    def state_dict(self) -> dict[str, object]:
        return {"model": self.module.state_dict(), "updates": self.updates, "decay": self.decay}

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.module.load_state_dict(cast("dict[str, torch.Tensor]", state["model"]))
        self.updates = int(str(state["updates"]))
