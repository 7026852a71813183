"""The networks, in plain torch.nn: a small CNN for the demo and a deeper residual variant.

Both take images in [0, 1] (N x C x H x W) and return logits (N x classes); they normalise the
input themselves, so the dataset, `predict` and the ONNX export all feed the same raw pixels.
"""

from collections.abc import Sequence

import torch
from torch import nn

from .config import ModelName, NormName


class Standardize(nn.Module):
    """(pixels - mean) / std per channel, with the training images' mean and std.

    Buffers, not parameters: saved with the weights (so checkpoints and the ONNX export carry
    them) but never trained.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(-1, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.mean) / self.std


class GlobalAvgPool(nn.Module):
    """The mean of each feature map: N x C x H x W -> N x C.

    A plain mean rather than nn.AdaptiveAvgPool2d, whose CUDA backward has no deterministic
    implementation (it would fail under torch.use_deterministic_algorithms).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def norm_layer(norm: NormName, channels: int) -> nn.Module:
    """BatchNorm by default; GroupNorm when per-process batches are too small for batch stats."""
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "group":
        # Up to 8 groups that divide the channels evenly.
        groups = max(g for g in range(1, 9) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    return nn.Identity()


def conv_block(in_channels: int, out_channels: int, norm: NormName) -> nn.Sequential:
    """3x3 convolution, normalisation, ReLU; a convolution followed by a norm needs no bias."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=norm == "none"),
        norm_layer(norm, out_channels),
        nn.ReLU(inplace=True),
    )


class SmallCNN(nn.Module):
    """Three stages of two 3x3 convolutions, widths w, 2w, 4w, then global average pooling."""

    def __init__(
        self, num_classes: int, in_channels: int, norm: NormName, width: int, dropout: float
    ) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            Standardize([0.5] * in_channels, [0.25] * in_channels),
            conv_block(in_channels, w, norm),
            conv_block(w, w, norm),
            nn.MaxPool2d(2),
            conv_block(w, 2 * w, norm),
            conv_block(2 * w, 2 * w, norm),
            nn.MaxPool2d(2),
            conv_block(2 * w, 4 * w, norm),
            GlobalAvgPool(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * w, num_classes))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.head(self.features(images))
        return logits


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions plus a shortcut; a 1x1 convolution matches shapes when they change."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, norm: NormName) -> None:
        super().__init__()
        bias = norm == "none"
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=bias)
        self.norm1 = norm_layer(norm, out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=bias)
        self.norm2 = norm_layer(norm, out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=bias),
                norm_layer(norm, out_channels),
            )
        # Each block starts as (nearly) the identity, which makes deep stacks easy to train.
        if isinstance(self.norm2, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.zeros_(self.norm2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        activated: torch.Tensor = self.relu(out + self.shortcut(x))
        return activated


class ResNet(nn.Module):
    """A stem, three stages of two residual blocks (widths w, 2w, 4w), global average pooling."""

    def __init__(
        self, num_classes: int, in_channels: int, norm: NormName, width: int, dropout: float
    ) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            Standardize([0.5] * in_channels, [0.25] * in_channels),
            conv_block(in_channels, w, norm),
            ResidualBlock(w, w, 1, norm),
            ResidualBlock(w, w, 1, norm),
            ResidualBlock(w, 2 * w, 2, norm),
            ResidualBlock(2 * w, 2 * w, 1, norm),
            ResidualBlock(2 * w, 4 * w, 2, norm),
            ResidualBlock(4 * w, 4 * w, 1, norm),
            GlobalAvgPool(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * w, num_classes))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.head(self.features(images))
        return logits


def build_model(  # noqa: PLR0913 (the architecture's knobs, passed by name)
    name: ModelName,
    num_classes: int,
    in_channels: int,
    norm: NormName = "batch",
    *,
    width: int = 32,
    dropout: float = 0.0,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> nn.Module:
    """The network called `name`, with fresh weights drawn from torch's (seeded) generator.

    `mean` and `std` (per channel, of the training images) standardise its input; a checkpoint's
    weights bring their own. The default maps [0, 1] to about [-2, 2].
    """
    network = SmallCNN if name == "small_cnn" else ResNet
    model = network(num_classes, in_channels, norm, width, dropout)
    if mean is not None and std is not None:
        model.features[0] = Standardize(mean, std)
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())
