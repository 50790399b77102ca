"""Progress bars: tqdm when it is installed, a small plain bar otherwise.

``progress(iterable, total=None, desc="")`` wraps an iterable and shows how far it got. The
choice of bar:

- ``tqdm`` when the package is installed and the output is a terminal;
- the plain bar otherwise. On a terminal it redraws one line with ``\\r`` (at most ten times a
  second); in a log file or a pipe, where ``\\r`` would leave a mess, it writes nothing while
  running and one summary line when it closes (only if ``leave=True``).

``TINYGRAD_EDU_PROGRESS=plain`` forces the plain bar, ``=off`` turns bars off; the ``kind=``
argument ("auto", "tqdm", "plain", "off") does the same per call. Both bars accept
``set_postfix(loss=0.12)`` and ``write(text)`` (a line printed without breaking the bar).
"""

import os
import sys
import time

__all__ = ["PlainBar", "progress", "tqdm_available"]


def tqdm_available():
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def _isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or exotic streams
        return False


def _fmt_time(seconds):
    m, s = divmod(int(seconds), 60)
    return f"{m:d}:{s:02d}" if m < 60 else f"{m // 60:d}:{m % 60:02d}:{s:02d}"


def _fmt_postfix(postfix):
    parts = []
    for k, v in postfix.items():
        parts.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
    return ", ".join(parts)


class PlainBar:
    """A dependency-free progress bar (see the module docstring for when it draws)."""

    def __init__(self, iterable=None, total=None, desc="", file=None, leave=True, width=24,
                 min_interval=0.1):
        self.iterable = iterable
        if total is None and iterable is not None:
            try:
                total = len(iterable)
            except TypeError:
                total = None
        self.total, self.desc, self.leave, self.width = total, desc, leave, width
        self.file = sys.stderr if file is None else file
        self.tty = _isatty(self.file)
        self.n = 0
        self.postfix = {}
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self._min_interval = min_interval
        self._closed = False

    def __iter__(self):
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __len__(self):
        return self.total if self.total is not None else len(self.iterable)

    def line(self):
        elapsed = time.perf_counter() - self.start
        head = f"{self.desc}: " if self.desc else ""
        if self.total:
            frac = min(1.0, self.n / self.total)
            filled = round(frac * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            body = f"{frac * 100:3.0f}% |{bar}| {self.n}/{self.total}"
        else:
            body = f"{self.n} it"
        tail = f" [{_fmt_time(elapsed)}"
        if self.n and elapsed > 0:
            tail += f", {self.n / elapsed:.1f} it/s"
        tail += "]"
        post = f" {_fmt_postfix(self.postfix)}" if self.postfix else ""
        return head + body + tail + post

    def update(self, n=1):
        self.n += n
        if self.tty:
            now = time.perf_counter()
            if now - self._last_draw >= self._min_interval or self.n == self.total:
                self._last_draw = now
                self.file.write("\r" + self.line() + "\033[K")  # \033[K: clear to line end
                self.file.flush()

    def set_postfix(self, ordered_dict=None, refresh=True, **kwargs):
        self.postfix = dict(ordered_dict or {}, **kwargs)

    def set_description(self, desc):
        self.desc = desc

    def write(self, text):
        """Print a line of text; on a terminal the bar is redrawn under it."""
        if self.tty and not self._closed:
            self.file.write("\r\033[K" + text + "\n" + self.line())
        else:
            self.file.write(text + "\n")
        self.file.flush()

    def close(self):
        if self._closed:
            return
        self._closed = True
        if self.tty:
            self.file.write(("\r" + self.line() + "\033[K\n") if self.leave else "\r\033[K")
        elif self.leave:
            self.file.write(self.line() + "\n")  # one summary line in a log
        self.file.flush()


class _Off(PlainBar):
    """A bar that draws nothing (``kind="off"``) but still counts and writes lines."""

    def update(self, n=1):
        self.n += n

    def close(self):
        self._closed = True


def progress(iterable=None, total=None, desc="", kind="auto", file=None, leave=True):
    """Wrap ``iterable`` in a progress bar (tqdm or the plain fallback; see module doc)."""
    kind = os.environ.get("TINYGRAD_EDU_PROGRESS", kind) if kind == "auto" else kind
    if kind not in ("auto", "tqdm", "plain", "off"):
        raise ValueError(f"progress: kind must be 'auto', 'tqdm', 'plain' or 'off', got "
                         f"{kind!r}")
    stream = sys.stderr if file is None else file
    if kind == "off":
        return _Off(iterable, total, desc, stream, leave)
    if kind == "tqdm" or (kind == "auto" and _isatty(stream)):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            if kind == "tqdm":
                raise ImportError("progress: kind='tqdm' needs the tqdm package: "
                                  "pip install tqdm") from None
        else:
            return tqdm(iterable, total=total, desc=desc or None, file=stream, leave=leave,
                        dynamic_ncols=True)
    return PlainBar(iterable, total, desc, stream, leave)
