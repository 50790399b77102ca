"""History: what ``fit`` records, one value per epoch for every logged quantity.

``history["loss"]``, ``history["val_accuracy"]``, ... are lists of floats; ``history.epoch``
the epoch numbers (from 1). It turns into plain data (``to_dict``, ``save_json``) for plots,
tables and the JSON file the ``tinygrad-edu train`` command writes.
"""

import json
import math

import numpy as np

from .callbacks import resolve_mode

__all__ = ["History"]


class History:
    """Per-epoch records: ``history["val_loss"]`` is a list with one float per epoch.

    ``history.epoch`` lists the epoch numbers (from 1), ``history.times`` the seconds each
    took (kept apart from the metrics: two runs with one seed have equal ``records`` but not
    equal times). ``to_dict()`` / ``from_dict()`` / ``save_json(path)`` give plain data.
    """

    def __init__(self):
        self.epoch, self.times, self.records = [], [], {}

    def append(self, epoch, logs, seconds):
        for key in logs:
            if key not in self.records:  # a value that appears late: earlier epochs get NaN
                self.records[key] = [math.nan] * len(self.epoch)
        for key, values in self.records.items():
            values.append(float(logs.get(key, math.nan)))
        self.epoch.append(int(epoch))
        self.times.append(float(seconds))

    def __getitem__(self, key):
        if key == "epoch":
            return self.epoch
        if key not in self.records:
            raise KeyError(f"History: no {key!r}; recorded: {sorted(self.records)}")
        return self.records[key]

    def __contains__(self, key):
        return key in self.records

    def __len__(self):
        return len(self.epoch)

    def keys(self):
        return list(self.records)

    def best(self, key, mode="auto"):
        """``(epoch, value)`` of the best epoch for ``key`` (min for losses, max for
        accuracy-like names unless ``mode`` says)."""
        values = np.asarray(self[key], dtype=np.float64)
        if values.size == 0 or np.all(np.isnan(values)):
            raise ValueError(f"History.best: no finite value of {key!r} yet")
        pick = np.nanargmax if resolve_mode(key, mode, "History.best") == "max" else np.nanargmin
        i = int(pick(values))
        return self.epoch[i], float(values[i])

    def to_dict(self):
        return {"epoch": list(self.epoch), **{k: list(v) for k, v in self.records.items()},
                "time": list(self.times)}

    @classmethod
    def from_dict(cls, data):
        h = cls()
        h.epoch = [int(e) for e in data.get("epoch", [])]
        h.times = [float(t) for t in data.get("time", [0.0] * len(h.epoch))]
        h.records = {k: [float(x) for x in v] for k, v in data.items()
                     if k not in ("epoch", "time")}
        return h

    def save_json(self, path):
        """Write ``to_dict()`` as JSON (NaN written as null so any JSON reader takes it)."""
        data = {k: [None if isinstance(x, float) and not math.isfinite(x) else x for x in v]
                for k, v in self.to_dict().items()}
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        return path

    def __repr__(self):
        last = {k: round(v[-1], 4) for k, v in self.records.items()} if self.epoch else {}
        return f"History({len(self)} epochs, last={last})"
