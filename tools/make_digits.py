"""Convert the UCI handwritten digits CSV into the package's bundled digits.npz (run once).

Developer tool, not run at install: the result, ``tinygrad_edu/data/digits.npz``, is committed.

Source: the test part of the UCI "Optical Recognition of Handwritten Digits" data set
(E. Alpaydin and C. Kaynak, 1998; CC BY 4.0), of which scikit-learn ships a copy as
``sklearn/datasets/data/digits.csv.gz``: 1,797 rows of 64 pixel counts (0..16, an 8x8 image,
row by row) followed by the digit label (0..9). To regenerate::

    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn
    python tools/make_digits.py \
        /tmp/skl/lib/python3.*/site-packages/sklearn/datasets/data/digits.csv.gz

Only numpy is needed to run this script; scikit-learn is just where the CSV comes from. The
output stores ``images`` as uint8 (1797, 8, 8) and ``labels`` as uint8 (1797,), compressed.
"""

import argparse
import gzip
import hashlib
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tinygrad_edu" / "data" / "digits.npz"


def convert(csv_gz, out=OUT):
    with gzip.open(csv_gz, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape != (1797, 65):
        raise SystemExit(f"unexpected table shape {table.shape}, expected (1797, 65)")
    pixels, labels = table[:, :64], table[:, 64]
    if pixels.min() < 0 or pixels.max() > 16 or set(np.unique(labels)) != set(range(10)):
        raise SystemExit("unexpected values: pixels must be 0..16 and labels 0..9")
    images = pixels.reshape(-1, 8, 8).astype(np.uint8)
    np.savez_compressed(out, images=images, labels=labels.astype(np.uint8))
    digest = hashlib.sha256(images.tobytes() + labels.astype(np.uint8).tobytes()).hexdigest()
    print(f"wrote {out} ({out.stat().st_size} bytes); content sha256 {digest}")
    print("class counts:", np.bincount(labels).tolist())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv_gz", help="path to scikit-learn's datasets/data/digits.csv.gz")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output file (default {OUT})")
    args = parser.parse_args()
    convert(args.csv_gz, args.out)


if __name__ == "__main__":
    main()
