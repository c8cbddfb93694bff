""".npz files between numpy and refbench's reader/writer (src/lib/server/metrics/npz.ts, fflate's zip layer), both
ways, bit for bit:

- numpy writes ``np.savez`` and ``np.savez_compressed`` archives of every dtype the reader supports (f8, f4, i8, i4,
  u1), a Fortran-order matrix and a 0-d array; ``parseNpz`` reads each value as the float64 numpy converts it to.
- ``encodeNpz`` writes arrays; ``np.load`` reads the same float64 bits back, and ``zipfile`` finds every CRC right.

The TS side runs through tsx with node (skipped, saying so, where node is not on PATH).
"""
import json
import pathlib
import shutil
import subprocess
import zipfile

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not on PATH (the reader under test is TypeScript)")

# Reads every .npz named on the command line and prints {file: {key: {dtype, shape, hex}}}, hex = float64 bytes.
READ_TS = """
import { readNpz } from '{npz}';
const out: Record<string, unknown> = {};
for (const f of process.argv.slice(2)) {
  const m = await readNpz(f);
  out[f] = Object.fromEntries([...m].map(([k, a]) => [k, { dtype: a.dtype, shape: a.shape, hex: Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).toString('hex') }]));
}
console.log(JSON.stringify(out));
"""

# Writes argv[2] (.npz) from the JSON file argv[3]: {key: {shape, hex}} with hex = float64 bytes.
WRITE_TS = """
import { readFileSync } from 'node:fs';
import { writeNpz } from '{npz}';
const spec = JSON.parse(readFileSync(process.argv[3], 'utf8')) as Record<string, { shape: number[]; hex: string }>;
const arrays = Object.fromEntries(Object.entries(spec).map(([k, v]) => {
  const b = Buffer.from(v.hex, 'hex');
  return [k, { shape: v.shape, data: new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) }];
}));
await writeNpz(process.argv[2], arrays);
"""


def _tsx(tmp: pathlib.Path, source: str, *args: str) -> str:
    script = tmp / "npz-probe.mts"
    script.write_text(source.replace("{npz}", (REPO / "src/lib/server/metrics/npz.ts").as_posix()))
    r = subprocess.run([NODE, "--import", "tsx", str(script), *args], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        "f8": rng.standard_normal((3, 5)) * 1e3,
        "f4": rng.standard_normal(17).astype(np.float32),
        "i8": rng.integers(-(2**52), 2**52, size=6, dtype=np.int64),  # exact in float64
        "i4": rng.integers(-(2**31), 2**31 - 1, size=(2, 3), dtype=np.int32),
        "u1": np.arange(256, dtype=np.uint8),
        "fortran": np.asfortranarray(rng.standard_normal((4, 3, 2))),
        "scalar": np.array(2.5),
        "special": np.array([0.0, -0.0, np.inf, -np.inf, 5e-324, np.finfo(np.float64).max]),
    }


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed], ids=["savez", "savez_compressed"])
def test_ts_reads_numpy_archives(tmp_path: pathlib.Path, save) -> None:
    arrays = _arrays()
    path = tmp_path / "a.npz"
    save(path, **arrays)
    with zipfile.ZipFile(path) as z:  # numpy's layout: the zip64 extras the reader must get past
        assert {i.compress_type for i in z.infolist()} == ({zipfile.ZIP_STORED} if save is np.savez else {zipfile.ZIP_DEFLATED})
    got = json.loads(_tsx(tmp_path, READ_TS, str(path)))[str(path)]
    assert sorted(got) == sorted(arrays)
    for key, a in arrays.items():
        g = got[key]
        assert g["dtype"] == a.dtype.str, key
        assert tuple(g["shape"]) == a.shape, key
        want = np.ascontiguousarray(a, dtype=np.float64).reshape(-1)
        assert np.frombuffer(bytes.fromhex(g["hex"]), dtype="<f8").tobytes() == want.tobytes(), key


def test_numpy_reads_ts_archives(tmp_path: pathlib.Path) -> None:
    rng = np.random.default_rng(11)
    arrays = {
        "mu": rng.standard_normal(64),
        "sigma": rng.standard_normal((64, 64)),
        "n": np.array(300.0),
        "special": np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 5e-324]),
    }
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({k: {"shape": list(v.shape), "hex": v.astype("<f8").tobytes().hex()} for k, v in arrays.items()}))
    path = tmp_path / "ts.npz"
    _tsx(tmp_path, WRITE_TS, str(path), str(spec))
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None  # every entry's CRC-32 matches
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}
    with np.load(path, allow_pickle=False) as got:
        assert sorted(got.files) == sorted(arrays)
        for key, a in arrays.items():
            assert got[key].dtype == np.float64 and got[key].shape == a.shape, key
            assert got[key].tobytes() == a.astype("<f8").tobytes(), key
