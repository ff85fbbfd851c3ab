"""Load (issue 8 §5, docs/RELIABILITY.md): evaluating a pregenerated file streams it in flat memory.

The full measurement (20,000 vs 200,000 rows) is ``bench/eval_memory.py`` → ``bench/results/eval_memory.json``;
this test runs the same script on 5,000 and 40,000 rows (8×). Rows and texts are streamed and the metrics
keep compact numpy columns (a few bytes per sample, :class:`reasoning_irl.eval.results.Results`), so the
child's peak memory grows by about 150 bytes per added row (allocator and bootstrap temporaries
included); the per-sample Python objects kept before grew it by about 740 bytes per row (measured
with this script on the same sizes), which the bound below rejects. The file evaluated in two pieces
gives the whole's per-problem metrics (pass@k, maj@k, oracle@N, best-of-N of every selector).
"""

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "eval_memory.py"
#: Peak-memory growth allowed per added row: ~2× the measured 150 B, half the old code's 740 B.
MAX_BYTES_PER_ROW = 350


@pytest.mark.slow
def test_memory_stays_flat_as_the_file_grows_and_pieces_agree(tmp_path):
    spec = importlib.util.spec_from_file_location("eval_memory", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.main(["--rows", "5000", "40000", "--pieces", "2", "--jobs", "2",
                         "--out", str(tmp_path / "r.json")])
    small, large = result["sizes"]
    assert large["rows"] == 8 * small["rows"] == 40000
    assert result["growth"]["bytes_per_row"] < MAX_BYTES_PER_ROW, result["growth"]
    pieces = result["pieces"]
    assert pieces["n_samples"] == large["n_samples"]
    assert pieces["n_metrics_compared"] >= 20  # pass@k, maj@k, oracle and best-of-N of 6 selectors
    assert pieces["max_abs_difference"] < 1e-9, pieces
