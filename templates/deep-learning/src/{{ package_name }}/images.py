"""Reading one image file: every way it can fail is a BadImageError naming the file and why."""

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import torch
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .errors import UserError

# A truncated file is an error, never an image with its missing rows filled in grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# The file names `data` and `predict` read as images; anything else is skipped with its reason.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
# Modes with one value per pixel (with or without alpha): they load as one channel.
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F"})
GREY = 1
COLOUR = 3
# Smaller than this is no picture to learn from: a thumbnail, an icon or a tracking pixel.
MIN_SIDE = 8


class BadImageError(UserError):
    """A file that cannot be used as an image: the message names it and says why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class ImageInfo:
    """What a file holds before any conversion."""

    mode: str
    width: int
    height: int

    @property
    def channels(self) -> int:
        """1 for greyscale modes, 3 for every colour mode (alpha is dropped)."""
        return mode_channels(self.mode)


def mode_channels(mode: str) -> int:
    """1 for a greyscale Pillow mode, 3 for a colour one."""
    return GREY if mode in GREY_MODES else COLOUR


def open_image(path: Path) -> Image.Image:
    """Open, verify and fully decode an image; a BadImageError says what is wrong with it."""
    if not path.is_file():
        raise BadImageError(path, "no such file")
    if path.stat().st_size == 0:
        raise BadImageError(path, "empty file (0 bytes)")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise BadImageError(
            path,
            f"not an image file (suffix '{path.suffix or '(none)'}'; expected one of "
            f"{', '.join(sorted(IMAGE_SUFFIXES))})",
        )
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that: refuse those too,
            # rather than decode gigapixels into a 28x28 thumbnail.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = decode(path)
    except UnidentifiedImageError:
        reason = "not an image Pillow can read (unknown or damaged format)"
        raise BadImageError(path, reason) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise BadImageError(path, f"too large to decode safely ({error})") from None
    except (OSError, SyntaxError, ValueError) as error:
        # Pillow signals truncation with OSError and damaged chunks with SyntaxError.
        raise BadImageError(path, f"corrupt or truncated image ({error})") from None
    width, height = image.size
    if min(width, height) < MIN_SIDE:
        image.close()
        raise BadImageError(
            path, f"too small ({width}x{height} pixels; each side needs at least {MIN_SIDE})"
        )
    return image


def decode(path: Path) -> Image.Image:
    """Check the file's structure, then decode every pixel of it."""
    # verify() checks the structure (chunks, checksums) without decoding the pixels, and leaves
    # the image unusable: it is opened a second time to decode.
    with Image.open(path) as probe:
        probe.verify()
    image = Image.open(path)
    try:
        # load() decodes every pixel: the only way to find a file cut short after its header.
        image.load()
    except BaseException:
        image.close()
        raise
    return image


def inspect(path: Path) -> ImageInfo:
    """The mode and size of a valid image (it is fully decoded, so a bad file raises here)."""
    with open_image(path) as image:
        return ImageInfo(mode=image.mode, width=image.width, height=image.height)


def convert(image: Image.Image, channels: int) -> Image.Image:
    """The image as 8-bit greyscale (channels=1) or RGB (channels=3).

    Transparent pixels are composited onto black, the background of the bundled digits; a
    palette image is expanded first so its transparency is kept until then.
    """
    if channels not in {GREY, COLOUR}:
        message = f"channels must be 1 or 3, not {channels}"
        raise ValueError(message)
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in {"I", "I;16", "I;16B", "I;16L", "F"}:
        # 16-bit and float greyscale: scale the full range to 0..255 rather than clip it.
        # One band: the extrema are (lowest, highest).
        low, high = cast("tuple[float, float]", image.getextrema())
        scale = 255.0 / (high - low) if high != low else 0.0
        # +0.5 rounds to the nearest level when "L" truncates.
        image = image.point(lambda value: (value - low) * scale + 0.5).convert("L")
    if "A" in image.getbands() or image.mode in {"LA", "La", "PA"}:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("L" if channels == GREY else "RGB")


def to_tensor(image: Image.Image) -> torch.Tensor:
    """An L or RGB image as a float32 tensor C x H x W with values in [0, 1]."""
    channels = len(image.getbands())
    data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    pixels = data.view(image.height, image.width, channels).permute(2, 0, 1)
    return pixels.float().div(255.0).contiguous()


def resize(image: Image.Image, size: int) -> Image.Image:
    """The image squeezed to size x size: nothing is cropped away, the aspect may change."""
    if image.size == (size, size):
        return image
    return image.resize((size, size), Image.Resampling.BILINEAR)


def read_image(path: Path, size: int, channels: int) -> Image.Image:
    """Read `path` as an L (channels=1) or RGB (channels=3) image of size x size pixels."""
    with open_image(path) as image:
        # Phone cameras store a photo sideways and say how to turn it in its EXIF data.
        converted = convert(ImageOps.exif_transpose(image), channels)
    return resize(converted, size)


def load_image(path: Path, size: int, channels: int) -> torch.Tensor:
    """Read `path` as a float tensor channels x size x size in [0, 1].

    Any mode (greyscale, RGB, RGBA, palette, CMYK, 16-bit) becomes `channels` channels, and any
    size is resized (not cropped) to size x size, so a folder of mixed images trains as one.
    """
    return to_tensor(read_image(path, size, channels))
