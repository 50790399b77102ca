"""The models the ``tinygrad-edu`` command trains on the bundled 8x8 digits.

- ``mlp``: 64 pixel features -> hidden (ReLU) -> ... -> 10 class scores. A fully connected
  network sees the image as a flat vector: it must learn from data that neighbouring pixels
  belong together.
- ``cnn``: (1, 8, 8) image -> two 3x3 convolutions (ReLU) -> 2x2 max pooling -> a small fully
  connected head. The convolution shares one small kernel over every position (fewer
  parameters, translation built in), which is why it usually beats the MLP on images.

``build_model(name, **options)`` builds either by name; ``MODELS`` lists them with their
input shape. Both output raw scores (logits): pair them with ``nn.CrossEntropyLoss``.
"""

from . import nn

__all__ = [
    "INPUT_SHAPES",
    "MODELS",
    "OPTIMIZERS",
    "build_model",
    "cnn",
    "make_optimizer",
    "mlp",
]


def _positive(value, name, who):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{who}: {name} must be a positive int, got {value!r}")
    return value


def _dropout(p, who):
    if not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
        raise ValueError(f"{who}: dropout must be a probability in [0, 1), got {p!r}")
    return float(p)


def mlp(in_features=64, hidden=128, layers=1, num_classes=10, dropout=0.0):
    """``Linear(in, hidden) -> ReLU [-> Dropout]`` repeated ``layers`` times, then
    ``Linear(hidden, num_classes)``."""
    who = "mlp"
    _positive(in_features, "in_features", who)
    _positive(hidden, "hidden", who)
    _positive(num_classes, "num_classes", who)
    if isinstance(layers, bool) or not isinstance(layers, int) or layers < 0:
        raise ValueError(f"{who}: layers must be an int >= 0, got {layers!r}")
    p = _dropout(dropout, who)
    blocks, width = [], in_features
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.ReLU()]
        if p:
            blocks.append(nn.Dropout(p))
        width = hidden
    blocks.append(nn.Linear(width, num_classes))
    return nn.Sequential(*blocks)


def cnn(channels=16, hidden=64, num_classes=10, dropout=0.0, image_size=8):
    """For ``(N, 1, 8, 8)`` images::

        Conv2d(1, c, 3, padding=1) -> ReLU -> Conv2d(c, 2c, 3, padding=1) -> ReLU
        -> MaxPool2d(2) -> Flatten -> [Dropout] -> Linear(2c * 4 * 4, hidden) -> ReLU
        -> Linear(hidden, num_classes)
    """
    who = "cnn"
    _positive(channels, "channels", who)
    _positive(hidden, "hidden", who)
    _positive(num_classes, "num_classes", who)
    _positive(image_size, "image_size", who)
    if image_size % 2:
        raise ValueError(f"{who}: image_size must be even (one 2x2 pooling), got {image_size}")
    p = _dropout(dropout, who)
    c = channels
    side = image_size // 2
    blocks = [nn.Conv2d(1, c, 3, padding=1), nn.ReLU(),
              nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(),
              nn.MaxPool2d(2), nn.Flatten()]
    if p:
        blocks.append(nn.Dropout(p))
    blocks += [nn.Linear(2 * c * side * side, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)]
    return nn.Sequential(*blocks)


MODELS = {"mlp": mlp, "cnn": cnn}
INPUT_SHAPES = {"mlp": (64,), "cnn": (1, 8, 8)}  # per sample, on the bundled digits


def build_model(name, **options):
    """Build the model called ``name`` ("mlp" or "cnn") with keyword ``options``."""
    if name not in MODELS:
        raise ValueError(f"build_model: unknown model {name!r}; choose one of "
                         f"{', '.join(sorted(MODELS))}")
    try:
        return MODELS[name](**options)
    except TypeError as exc:  # an option the builder does not take
        raise TypeError(f"build_model({name!r}): {exc}") from None


OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")


def make_optimizer(name, params, lr, weight_decay=None, momentum=0.9):
    """An optimizer by name: "sgd" (with ``momentum``), "adam", "adamw", "rmsprop",
    "adagrad". ``weight_decay=None`` keeps the optimizer's own default (AdamW: 0.01)."""
    from . import optim

    classes = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW,
               "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad}
    if name not in classes:
        raise ValueError(f"make_optimizer: unknown optimizer {name!r}; choose one of "
                         f"{', '.join(OPTIMIZERS)}")
    kwargs = {"lr": lr}
    if weight_decay is not None:
        kwargs["weight_decay"] = weight_decay
    if name == "sgd":
        kwargs["momentum"] = momentum
    return classes[name](params, **kwargs)
