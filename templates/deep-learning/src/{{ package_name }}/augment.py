"""Training-time augmentation, written with Pillow (rotation) and torch ops (crop, flip, jitter).

Every random draw comes from the `torch.Generator` passed in, never from a global generator, so
the same generator state always gives the same augmented image: in the training process or a
worker, in a straight run or a resumed one.
"""

from dataclasses import dataclass

import torch
from PIL import Image
from torch.nn import functional

from .config import DataConfig
from .images import to_tensor

FLIP_PROBABILITY = 0.5


@dataclass(frozen=True)
class Augment:
    """How strongly each augmentation applies; 0 (or False) switches one off."""

    # Pixels of black border added before a random crop back to the original size: a shift of
    # up to this many pixels in each direction.
    crop_padding: int = 2
    # Mirror left-right half the time. Off for digits and text, whose mirror image is another
    # symbol (or none); on for photos of things that look the same mirrored.
    hflip: bool = False
    # Largest rotation, in degrees either way.
    rotate_degrees: float = 10.0
    # Largest relative change of brightness and of contrast.
    jitter: float = 0.1

    @classmethod
    def from_config(cls, config: DataConfig) -> "Augment":
        return cls(
            crop_padding=config.crop_padding,
            hflip=config.hflip,
            rotate_degrees=config.rotate_degrees,
            jitter=config.jitter,
        )

    def __call__(self, image: Image.Image, generator: torch.Generator) -> torch.Tensor:
        """The augmented image as a float tensor C x H x W in [0, 1]."""
        return self.tensor(to_tensor(self.rotate(image, generator)), generator)

    def rotate(self, image: Image.Image, generator: torch.Generator) -> Image.Image:
        """A small random rotation about the centre, corners filled with black (Pillow)."""
        if self.rotate_degrees <= 0:
            return image
        angle = uniform(generator, -self.rotate_degrees, self.rotate_degrees)
        return image.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=0)

    def tensor(self, pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Random crop with padding, optional flip, brightness and contrast jitter (torch)."""
        if self.crop_padding > 0:
            pixels = random_crop(pixels, self.crop_padding, generator)
        if self.hflip and uniform(generator, 0.0, 1.0) < FLIP_PROBABILITY:
            pixels = pixels.flip(-1)
        if self.jitter > 0:
            brightness = uniform(generator, 1 - self.jitter, 1 + self.jitter)
            contrast = uniform(generator, 1 - self.jitter, 1 + self.jitter)
            mean = pixels.mean()
            pixels = ((pixels * brightness - mean) * contrast + mean).clamp(0.0, 1.0)
        return pixels


def uniform(generator: torch.Generator, low: float, high: float) -> float:
    """One number drawn uniformly from [low, high) by `generator`."""
    return low + (high - low) * float(torch.rand((), generator=generator))


def random_crop(pixels: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Pad with black on every side, then cut a window of the original size at a random place."""
    _, height, width = pixels.shape
    padded = functional.pad(pixels, (padding, padding, padding, padding), value=0.0)
    top = int(torch.randint(0, 2 * padding + 1, (), generator=generator))
    left = int(torch.randint(0, 2 * padding + 1, (), generator=generator))
    return padded[:, top : top + height, left : left + width].contiguous()
