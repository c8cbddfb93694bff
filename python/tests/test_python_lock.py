"""python/requirements.lock is the complete, hashed Python environment (scripts/lock-python.sh writes it; setup.sh
installs only from it), and python/pyproject.toml's pins agree with it."""
from __future__ import annotations

import importlib.metadata
import pathlib
import re
import tomllib

PY = pathlib.Path(__file__).resolve().parents[1]
LOCK = PY / "requirements.lock"
LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) --hash=sha256:([0-9a-f]{64})$")


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for i, line in enumerate(LOCK.read_text().splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, f"{LOCK}:{i}: not 'name==version --hash=sha256:<64 hex>': {line!r}"
        name = norm(m.group(1))
        assert name not in pins, f"{LOCK}:{i}: {name} pinned twice"
        pins[name] = m.group(2)
    return pins


def pyproject_pins() -> dict[str, str]:
    proj = tomllib.loads((PY / "pyproject.toml").read_text())["project"]
    specs = list(proj["dependencies"]) + [s for group in proj["optional-dependencies"].values() for s in group]
    pins = {}
    for s in specs:
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^,;<>=!~*\s]+)", s.strip())
        assert m, f"python/pyproject.toml: {s!r} is not an exact pin (name==version)"
        pins[norm(m.group(1))] = m.group(2)
    return pins


def test_every_pyproject_pin_is_in_the_lock_exactly():
    lock = lock_pins()
    for name, version in pyproject_pins().items():
        assert lock.get(name) == version, f"pyproject pins {name}=={version}, the lock {lock.get(name)}"


def test_the_lock_is_complete_for_what_setup_installs():
    lock = lock_pins()
    # pyproject's direct dependencies, pip itself, and the packages they need (a sample that pip resolved)
    for name in ("torch", "numpy", "pip", "setuptools", "sympy", "protobuf", "lpips", "pyiqa", "scikit-video"):
        assert name in lock, name
    setup = "\n".join(ln for ln in (PY / "setup.sh").read_text().splitlines() if not ln.lstrip().startswith("#"))
    installs = [ln for ln in setup.splitlines() if "pip install" in ln or "pip=(" in ln]
    assert installs and all("--require-hashes" in ln and "--no-deps" in ln for ln in installs), installs
    assert not re.search(r"[A-Za-z0-9]==[0-9]|>=", setup), "setup.sh names a version itself; it installs from the lock"


def test_this_environment_is_the_lock():
    """The interpreter running the tests (python/.venv from setup.sh, or CI's) has every locked package at its
    locked version; a mismatch names the packages (then: bash python/setup.sh)."""
    wrong = {}
    for name, version in lock_pins().items():
        try:
            got = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            got = None
        if got != version:
            wrong[name] = (got, version)
    assert not wrong, f"installed vs locked: {wrong}"
