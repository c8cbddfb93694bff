"""Makes ``python/`` importable when pytest runs from the repository root."""
import pathlib
import sys

_PY = str(pathlib.Path(__file__).resolve().parents[1])
if _PY not in sys.path:
    sys.path.insert(0, _PY)
