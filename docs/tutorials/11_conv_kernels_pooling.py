"""Tutorial 11: convolution kernels and pooling, on the 8x8 handwritten digits.

A convolution slides a small kernel (1x1, 3x3, 5x5, ...) over the image; at each position it
takes the weighted sum of the pixels under it. The SAME few weights are used everywhere, so:
  - a 3x3 kernel has 9 weights (per input and output channel) whatever the image size, where a
    fully connected layer needs one weight per pixel pair;
  - a pattern (an edge, a stroke end) is detected wherever it appears.
Output size: (H + 2 * padding - kernel) / stride + 1. padding = (kernel - 1) / 2 keeps H.
A 1x1 kernel looks at one pixel: it mixes the channels of that pixel (a Linear layer applied
at every position).
Pooling shrinks the feature maps: max pooling keeps the strongest response in each window,
average pooling the mean, global pooling reduces each channel to one number. A small shift of
the input then changes the pooled features less.

  1. Shapes and parameter counts for 1x1, 3x3, 5x5 kernels.
  2. Hand-made kernels on a digit (edges, blur), checked against a plain loop.
  3. Pooling: shapes, and how much a one-pixel shift changes the features.
  4. A small CNN on the digits against an MLP.

Run:  python docs/tutorials/11_conv_kernels_pooling.py   (TINYGRAD_EDU_FAST=1: fewer epochs)
"""

import os

import numpy as np

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import nn, optim
from tinygrad_edu.data import (
    DataLoader,
    TensorDataset,
    load_digits,
    train_val_test_split,
)
from tinygrad_edu.train import fit

FAST = os.environ.get("TINYGRAD_EDU_FAST") == "1"
X, y = load_digits(flatten=False)  # (1797, 1, 8, 8): N, channels, height, width
X = X / 16.0  # pixel values 0..16 -> 0..1

# ------------------------------------------------------------------ 1. shapes
print(f"1. Input batch: {X.shape} (images, channels, height, width)")
xb = tg.Tensor(X[:32])
print("   layer                               output shape        parameters")
for k in (1, 3, 5):
    for pad in sorted({0, (k - 1) // 2}):
        conv = nn.Conv2d(1, 16, k, padding=pad)
        out = conv(xb)
        print(f"   Conv2d(1, 16, kernel={k}, padding={pad})  {out.shape!s:18s}  "
              f"{conv.num_parameters():5d} = 16 * {k}x{k} + 16 biases")
        assert out.shape[2] == 8 + 2 * pad - k + 1
conv = nn.Conv2d(16, 32, 3, padding=1)
print(f"   Conv2d(16, 32, kernel=3, padding=1)  (32, 32, 8, 8)      {conv.num_parameters():5d} "
      "= 32 * 16 * 3x3 + 32")
print(f"   for comparison, Linear(16*8*8, 32*8*8) would need {16 * 64 * 32 * 64 + 32 * 64:,} "
      "weights")

# 1x1 convolution = the same Linear at every pixel
h = tg.Tensor(np.random.default_rng(0).standard_normal((2, 3, 8, 8)))  # 3 channels
one = nn.Conv2d(3, 4, 1, dtype="float64")
with tg.no_grad():
    by_conv = one(h).data
W, b = one.weight.data[:, :, 0, 0], one.bias.data  # (4, 3), (4,)
by_hand = np.einsum("oc,nchw->nohw", W, h.data) + b[None, :, None, None]
print("   a 1x1 kernel mixes channels pixel by pixel: Conv2d(3, 4, 1) equals its weight W (4x3)"
      f"\n   applied at each of the 8x8 positions (max diff {np.abs(by_conv - by_hand).max():.1e})")
assert np.allclose(by_conv, by_hand, atol=1e-5)

# ------------------------------------------------------------------ 2. what kernels do
print("\n2. Hand-made kernels on one digit")
img = X[y == 7][0]  # (1, 8, 8), a seven
kernels = {
    "vertical edges (3x3)": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float),
    "horizontal edges (3x3)": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], float),
    "blur (5x5 average)": np.full((5, 5), 1 / 25),
}
responses = {}
for name, k in kernels.items():
    w = tg.Tensor(k[None, None])  # (out=1, in=1, kh, kw)
    pad = k.shape[0] // 2
    out = F.conv2d(tg.Tensor(img[None].astype(float)), w, padding=pad).data[0, 0]
    # the same by a plain loop: cross-correlation, zero padding
    P = np.pad(img[0], pad)
    loop = np.array([[np.sum(P[i:i + k.shape[0], j:j + k.shape[1]] * k) for j in range(8)]
                     for i in range(8)])
    assert np.allclose(out, loop)
    responses[name] = out


def ascii(a):
    ramp = " .:-=+*#%@"
    a = np.abs(a) / (np.abs(a).max() + 1e-12)
    return ["".join(ramp[min(9, int(v * 9.99))] * 2 for v in row) for row in a]


cols = [("the digit", ascii(img[0]))] + [(n, ascii(r)) for n, r in responses.items()]
print("   " + "".join(f"{n[:22]:24s}" for n, _ in cols).rstrip())
for i in range(8):
    print("   " + "".join(f"{c[i]:24s}" for _, c in cols).rstrip())
print("   (|response| shown) the vertical-edge kernel lights up along the sides of the\n"
      "   down stroke, the horizontal one above and below the top bar; the blur spreads the\n"
      "   ink. A CNN learns kernels like these from data.")
# on a straight vertical line, the vertical-edge kernel responds and the horizontal one only
# at the line's two ends
line = np.zeros((1, 1, 8, 8))
line[0, 0, 1:7, 4] = 1.0
energy = {n: float(np.abs(F.conv2d(tg.Tensor(line), tg.Tensor(k[None, None]), padding=1).data)
                   .sum()) for n, k in kernels.items() if "3x3" in n}
print(f"   on a straight vertical line: |response| summed, vertical kernel "
      f"{energy['vertical edges (3x3)']:.0f}, horizontal kernel "
      f"{energy['horizontal edges (3x3)']:.0f}")
assert energy["vertical edges (3x3)"] > 2 * energy["horizontal edges (3x3)"]

# ------------------------------------------------------------------ 3. pooling
print("\n3. Pooling")
t = tg.Tensor(np.arange(16, dtype=float).reshape(1, 1, 4, 4))
print(f"   input 4x4:\n{t.data[0, 0]}")
print(f"   MaxPool2d(2):\n{F.max_pool2d(t, 2).data[0, 0]}")
print(f"   AvgPool2d(2):\n{F.avg_pool2d(t, 2).data[0, 0]}")
print(f"   global average (AdaptiveAvgPool2d(1)): {F.adaptive_avg_pool2d(t, 1).data.ravel()}")
assert F.max_pool2d(t, 2).data[0, 0, 1, 1] == 15 and F.avg_pool2d(t, 2).data[0, 0, 0, 0] == 2.5

tg.manual_seed(0)
conv = nn.Conv2d(1, 8, 3, padding=1)
shifted = np.zeros_like(X[:200])
shifted[..., 1:] = X[:200, ..., :-1]  # every image moved one pixel to the right
with tg.no_grad():
    a, s = F.relu(conv(tg.Tensor(X[:200]))), F.relu(conv(tg.Tensor(shifted)))
    stages = {
        "feature maps (8, 8, 8)": (a, s),
        "MaxPool2d(2) -> (8, 4, 4)": (F.max_pool2d(a, 2), F.max_pool2d(s, 2)),
        "AvgPool2d(2) -> (8, 4, 4)": (F.avg_pool2d(a, 2), F.avg_pool2d(s, 2)),
        "MaxPool2d(4) -> (8, 2, 2)": (F.max_pool2d(a, 4), F.max_pool2d(s, 4)),
        "global average -> (8, 1, 1)": (F.adaptive_avg_pool2d(a, 1),
                                        F.adaptive_avg_pool2d(s, 1)),
    }
print("\n   shift every image one pixel right: relative change of the features")
change = {}
for name, (p, q) in stages.items():
    change[name] = float(np.linalg.norm(p.data - q.data) / np.linalg.norm(p.data))
    print(f"   {name:28s} {change[name]:.3f}")
vals = list(change.values())
assert vals[0] > vals[1] > vals[3] > vals[4] and vals[4] < 0.1
print("   the coarser the pooling, the less a small shift matters; global pooling keeps\n"
      "   'what' and forgets 'where'.")

# ------------------------------------------------------------------ 4. a small CNN
EPOCHS = 5 if FAST else 10
print(f"\n4. A small CNN against an MLP on the digits ({EPOCHS} epochs, Adam, lr 3e-3)")
(X_tr, y_tr), (X_va, y_va) = train_val_test_split(X, y, ratios=(0.8, 0.2), stratify=True,
                                                  seed=0)
MODELS = {
    "MLP 64-64-10": lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(),
                                          nn.Linear(64, 10)),
    "CNN conv3-pool-conv3-pool": lambda: nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (16, 4, 4)
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (32, 2, 2)
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10)),
}
acc = {}
for name, build in MODELS.items():
    tg.manual_seed(0)
    model = build()
    hist = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=3e-3),
               DataLoader(TensorDataset(X_tr, y_tr), batch_size=32, shuffle=True, seed=0),
               DataLoader(TensorDataset(X_va, y_va), batch_size=512), epochs=EPOCHS, verbose=0)
    acc[name] = hist["val_accuracy"][-1]
    print(f"   {name:26s} {model.num_parameters():6d} parameters   val accuracy per epoch "
          + " ".join(f"{v:.3f}" for v in hist["val_accuracy"]))
    if name.startswith("CNN"):
        cnn = model
assert acc["CNN conv3-pool-conv3-pool"] > 0.95
print("   the CNN gets there with a similar number of parameters, because each kernel is\n"
      "   shared over the image. Its first-layer kernels, learned from data (3x3, first 4):")
k = cnn[0].weight.data[:4, 0]
for row in range(3):
    print("   " + "    ".join(" ".join(f"{v:+.2f}" for v in k[c, row]) for c in range(4)))
print("\nTakeaway: kernels are small shared weight patterns (1x1 mixes channels, 3x3 and 5x5 "
      "see neighbourhoods); padding keeps the size, pooling shrinks it and buys tolerance to "
      "small shifts; together they make a compact, accurate image model.")
