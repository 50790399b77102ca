"""cffi build script for the C core (``tinygrad_edu._C``).

Used two ways:
- by setuptools through ``setup(cffi_modules=["tinygrad_edu/_build.py:ffibuilder"])``
  (``pip install .``, ``pip install -e .``, ``python -m build``);
- as a script for the development loop: ``python tinygrad_edu/_build.py`` builds the
  extension in place so that ``import tinygrad_edu._C`` works from the source tree.

The cdef is every ``csrc/tg_*.h`` (sorted by name), the sources every ``csrc/*.c``.
Environment switches:
- ``TINYGRAD_EDU_NO_OPENMP=1``: build without OpenMP (also automatic when a test compile
  with ``-fopenmp`` fails);
- ``TINYGRAD_EDU_SANITIZE=1``: ``-fsanitize=address,undefined -O1 -g`` (run the tests with
  libasan preloaded, see the hardening notes).
No ``-march=native``: the wheel must run on any x86-64; AVX2 paths are chosen at run time.
"""

import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from importlib.machinery import EXTENSION_SUFFIXES

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CSRC = os.path.join(ROOT, "csrc")


def _flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _compiler():
    """The C compiler command setuptools will use (CC overrides the interpreter's)."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return cc.split()


def _openmp_works():
    """Compile and link a tiny OpenMP program; False when the compiler cannot."""
    code = "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n"
    tmp = tempfile.mkdtemp(prefix="tg_omp_")
    try:
        src = os.path.join(tmp, "t.c")
        with open(src, "w") as f:
            f.write(code)
        cmd = _compiler() + ["-fopenmp", src, "-o", os.path.join(tmp, "t")]
        res = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return res.returncode == 0
    except OSError:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _flags():
    """(compile flags, link flags) for this build."""
    cflags = ["-std=c11", "-O3", "-fno-math-errno"]
    lflags = []
    if _flag("TINYGRAD_EDU_SANITIZE"):
        san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"]
        cflags += san
        lflags += san
    if os.name == "posix":  # csrc/team.c starts worker threads (older glibc: libpthread)
        cflags.append("-pthread")
        lflags.append("-pthread")
    if not _flag("TINYGRAD_EDU_NO_OPENMP") and _openmp_works():
        cflags.append("-fopenmp")
        lflags.append("-fopenmp")
    else:
        cflags.append("-Wno-unknown-pragmas")
    return cflags, lflags


def _headers():
    return sorted(glob.glob(os.path.join(CSRC, "tg_*.h")))


def _sources():
    return sorted(glob.glob(os.path.join(CSRC, "*.c")))


def _make_builder(relative_sources=True):
    cflags, lflags = _flags()
    headers = _headers()
    builder = FFI()
    builder.cdef("\n".join(open(h, encoding="utf-8").read() for h in headers))
    prelude = "#include <stdint.h>\n" + "".join(
        f'#include "{os.path.basename(h)}"\n' for h in headers)
    info = f"cflags {' '.join(cflags)}, ldflags {' '.join(lflags)}".replace('"', "'")
    # NOTE: setuptools wants source paths relative to setup.py's directory; an absolute path
    # would leak into the build tree layout, so make them relative when we can.
    sources = _sources()
    if relative_sources:
        try:
            sources = [os.path.relpath(src) for src in sources]
        except ValueError:  # another drive on Windows
            pass
    builder.set_source(
        "tinygrad_edu._C",
        prelude,
        sources=sources,
        include_dirs=[CSRC],
        define_macros=[("TG_BUILD_FLAGS", f'"{info}"')],
        extra_compile_args=cflags,
        extra_link_args=lflags,
    )
    return builder


ffibuilder = _make_builder()


if __name__ == "__main__":
    # Development loop: compile next to the package so `import tinygrad_edu._C` works.
    # NOTE: ffi.compile() changes into tmpdir, so the sources must be absolute here.
    out = _make_builder(relative_sources=False).compile(
        tmpdir=os.path.join(ROOT, "build", "cffi"), verbose=False)
    # The same file name setuptools gives the module (cffi builds it for the stable ABI), so
    # `pip install -e .` and this script never leave two copies that shadow each other.
    suffix = ".abi3.so" if ".abi3.so" in EXTENSION_SUFFIXES else os.path.basename(out)[2:]
    target = os.path.join(HERE, "_C" + suffix)
    for stale in glob.glob(os.path.join(HERE, "_C.*")):
        if stale != target and stale.endswith((".so", ".pyd")):
            os.remove(stale)  # unlinking is safe even while a process has it loaded
    # NOTE: copy then rename: overwriting a loaded .so in place makes every process that has
    # it mapped die with SIGBUS; a rename leaves their old inode intact.
    tmp_target = f"{target}.tmp{os.getpid()}"
    shutil.copy2(out, tmp_target)
    os.replace(tmp_target, target)
    print("built", target, file=sys.stderr)
