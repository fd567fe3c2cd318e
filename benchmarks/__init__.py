"""Side-by-side measurements of the SDK (not tests): `python -m benchmarks` prints a table and
writes BENCHMARKS.md. See BENCHMARKS.md for what is measured and how.
"""

from __future__ import annotations

__all__: list[str] = []
