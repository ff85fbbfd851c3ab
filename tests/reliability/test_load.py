"""Load (issue 8 §5, docs/RELIABILITY.md): evaluating a pregenerated file streams it.

The full measurement (20,000 vs 200,000 rows) is ``bench/eval_memory.py`` → ``bench/results/eval_memory.json``;
this test runs the same script at a tenth of the size: the child's peak memory grows by far less than
the file (rows are streamed; a few numbers per sample are kept for the metrics — see RELIABILITY.md §5),
and the metrics of the file evaluated in pieces equal the whole's.
"""

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "eval_memory.py"


@pytest.mark.slow
def test_memory_grows_far_less_than_the_file_and_pieces_agree(tmp_path):
    spec = importlib.util.spec_from_file_location("eval_memory", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.main(["--rows", "2000", "20000", "--pieces", "2", "--out", str(tmp_path / "r.json")])
    small, large = result["sizes"]
    assert large["rows"] == 10 * small["rows"] == 20000
    # Per-problem numbers (a few floats per sample) are kept for the metrics; rows and texts are not.
    assert result["growth"]["peak_rss_delta_mb"] < 40, result["growth"]
    assert result["pieces"]["n_samples"] == large["n_samples"]
    assert result["pieces"]["max_abs_difference"] < 1e-9
