"""``refbench export`` read from Python (issue 17, item 3): the Parquet files a run exports read back through
pyarrow and pandas with every (run, sample, metric) value equal to the store's JSONL, bit for bit.

Neither pyarrow nor pandas is a dependency of refbench (python/setup.sh installs neither): each reader is tested
where it is installed and skipped, saying so, where it is not. The run is made with the real CLI (node), on a
3-sample folder dataset with one broken LQ image, so the failed-sample row is covered too.
"""
import json
import pathlib
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
NODE = shutil.which("node")


def _have(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


HAVE_PYARROW = _have("pyarrow.parquet")
HAVE_PANDAS = _have("pandas") and HAVE_PYARROW  # pandas.read_parquet needs pyarrow (or fastparquet)

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not on PATH (the export is made with the refbench CLI)"),
    pytest.mark.skipif(not HAVE_PYARROW, reason="pyarrow is not installed (not a refbench dependency)"),
]


def _refbench(*args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run([NODE, str(REPO / "bin" / "refbench.js"), *args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    # The folder dataset of the TS tests (test/helpers/folder-dataset.ts), written through tsx.
    script = root / "mk.mts"
    script.write_text(
        f"import {{ writeFolderDataset }} from {json.dumps(str(REPO / 'test/helpers/folder-dataset.ts'))};\n"
        f"await writeFolderDataset({json.dumps(str(root / 'ds'))}, 3, 1);\n"
    )
    subprocess.run([NODE, "--import", "tsx", str(script)], cwd=REPO, check=True, timeout=300)
    (root / "ds" / "lq" / "s02.png").write_bytes(b"not a png")
    spec = root / "spec.yaml"
    spec.write_text(f"name: py\ndataset: {{ adapter: folder, options: {{ root: {json.dumps(str(root / 'ds'))} }} }}\nrestorer: {{ id: lq }}\nmetrics: [psnr, ssim]\n")
    r = _refbench("run", str(spec), "--results-dir", str(root / "results"), "-q", "--allow-failures", cwd=REPO)
    assert r.returncode == 0, r.stderr
    r = _refbench("export", "--results-dir", str(root / "results"), "--out", str(root / "out"), cwd=REPO)
    assert r.returncode == 0, r.stderr
    (run_dir,) = (root / "results" / "runs").iterdir()
    return root / "out", run_dir


def _store(run_dir: pathlib.Path) -> dict:
    """(sample, metric) -> value, and sample -> status, from samples.jsonl: the highest seq per sample wins."""
    latest = {}
    for line in (run_dir / "samples.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec["sampleId"] not in latest or rec["seq"] > latest[rec["sampleId"]]["seq"]:
            latest[rec["sampleId"]] = rec
    return latest


def _check(rows: list, run_dir: pathlib.Path) -> None:
    latest = _store(run_dir)
    run_id = run_dir.name
    expected = {(s, m): v for s, rec in latest.items() if rec["status"] == "ok" for m, v in rec["metrics"].items()}
    got = {(r["sample_id"], r["metric"]): r["value"] for r in rows if r["status"] == "ok"}
    assert got == expected  # float equality: Parquet DOUBLE holds the JSON number exactly
    assert {r["run_id"] for r in rows} == {run_id}
    failed = [r for r in rows if r["status"] == "error"]
    assert [r["sample_id"] for r in failed] == ["s02"]
    assert failed[0]["metric"] is None and "s02.png" in failed[0]["error"]


def test_pyarrow_reads_the_store_values(exported):
    import pyarrow.parquet as pq

    out, run_dir = exported
    _check(pq.read_table(out / "samples.parquet").to_pylist(), run_dir)
    runs = pq.read_table(out / "runs.parquet").to_pylist()
    run = json.loads((run_dir / "run.json").read_text())
    assert [(r["run_id"], r["spec_hash"], r["dataset_hash"], r["n_ok"], r["n_error"]) for r in runs] == [(run["runId"], run["specHash"], run["dataset"]["hash"], 2, 1)]


@pytest.mark.skipif(not HAVE_PANDAS, reason="pandas is not installed (not a refbench dependency)")
def test_pandas_reads_the_store_values(exported):
    import pandas as pd

    out, run_dir = exported
    df = pd.read_parquet(out / "samples.parquet")
    rows = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in df.to_dict("records")]
    _check(rows, run_dir)
    # What a researcher does first: the mean per metric equals the mean of the store's values.
    latest = _store(run_dir)
    for metric in ("psnr", "ssim"):
        vals = [rec["metrics"][metric] for rec in latest.values() if rec["status"] == "ok"]
        # Two values: (a + b) / 2 either way, so the means are equal exactly.
        assert df[df.metric == metric].value.mean() == sum(vals) / len(vals)
