"""The benchmark command (#6): sizes as people write them, and a tiny end-to-end run."""

import json

import pytest

from tracker import bench
from tracker import cli as cli_module


@pytest.mark.parametrize(
    ("text", "expected"), [("10000", 10_000), ("10k", 10_000), ("100K", 100_000), ("1M", 1_000_000), ("1_000", 1000)]
)
def test_sizes_are_read_as_written(text, expected):
    assert bench.count(text) == expected


def test_a_size_that_is_not_one_is_refused_plainly():
    with pytest.raises(SystemExit, match="is not a size"):
        bench.count("lots")


def test_a_tiny_run_measures_a_page_against_the_trivial_one(tmp_path):
    out = tmp_path / "bench.json"
    code = cli_module.main(
        ["bench", "--only", "pages", "--sizes", "300", "--import-sizes", "", "--pages", "pages/legacy.py",
         "--runs", "1", "--workdir", str(tmp_path / "w"), "--no-doc", "--json", str(out)]
    )  # fmt: skip
    assert code == 0
    text = out.read_text()
    assert "pages/legacy.py" in text
    assert json.loads(text)
