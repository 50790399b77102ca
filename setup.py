"""Only here to build the C core: everything else is in pyproject.toml."""
from setuptools import setup

setup(cffi_modules=["tinygrad_edu/_build.py:ffibuilder"])
