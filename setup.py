"""Only the optional C extension; everything else is in pyproject.toml.

``search._speedups`` speeds up two per-posting loops of the index writer. It is
optional: where it cannot be compiled, the install goes on and the writer runs
the same loops in Python (search/writer.py), with the same output.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("search._speedups", ["search/_speedups.c"], optional=True)])
