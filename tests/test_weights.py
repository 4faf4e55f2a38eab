import time

import pytest

from rlrf.scores.learned import load_dino
from rlrf.weights import WeightsUnavailable, downloads_allowed


def test_missing_weights_fail_fast_without_download(monkeypatch, tmp_path):
    monkeypatch.delenv("RLRF_ALLOW_DOWNLOADS", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    assert not downloads_allowed()
    t = time.time()
    with pytest.raises(WeightsUnavailable, match="dinov2"):
        load_dino("facebook/dinov2-base")
    assert time.time() - t < 20


def test_downloads_are_opt_in(monkeypatch):
    monkeypatch.setenv("RLRF_ALLOW_DOWNLOADS", "1")
    assert downloads_allowed()
