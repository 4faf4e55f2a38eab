"""Split assignment: hash buckets, OOD sources, DINO/colour clusters, stratified samples.

Disjointness is structural: a row's split is decided by its normalised-content hash
(duplicates were removed on that hash first), so no SVG can land in two splits.
"""

from __future__ import annotations

import numpy as np


def hash_buckets(hashes: list[str], fractions: list[float]) -> np.ndarray:
    """Bucket index per row from its content hash: bucket i holds ~fractions[i] of rows,
    the remainder falls in bucket len(fractions). Stable across runs and machines."""
    points = np.array([int(h[:8], 16) % 10_000 for h in hashes], dtype=np.int64)
    edges = np.cumsum([int(round(f * 10_000)) for f in fractions])
    return np.searchsorted(edges, points, side="right")


def kmeans_labels(features: np.ndarray, k: int, seed: int) -> np.ndarray:
    """k-means cluster labels (OpenCV); k is capped at the number of rows."""
    n = len(features)
    if n <= 1:  # (OpenCV reads a single row as that many one-dimensional samples)
        return np.zeros(n, dtype=np.int64)
    k = max(1, min(k, n))
    cv2 = __import__("cv2")
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-4)
    _, labels, _ = cv2.kmeans(features.astype(np.float32), k, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
    return labels.ravel().astype(np.int64)


def stratified_sample(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Indices of a sample of `size` rows, each cluster represented in proportion
    (largest-remainder allocation; every non-empty cluster gets at least one row
    when size allows) — the paper's stratified sampling for SVG-Stack-Hard."""
    n = len(labels)
    if size >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    clusters, counts = np.unique(labels, return_counts=True)
    quota = counts * size / n
    alloc = np.floor(quota).astype(int)
    if size >= len(clusters):
        alloc = np.maximum(alloc, 1)
    while alloc.sum() > size:
        alloc[np.argmax(alloc - quota)] -= 1
    order = np.argsort(-(quota - alloc))
    i = 0
    while alloc.sum() < size:
        c = order[i % len(order)]
        if alloc[c] < counts[c]:
            alloc[c] += 1
        i += 1
    picked = [rng.choice(np.flatnonzero(labels == c), size=a, replace=False) for c, a in zip(clusters, alloc, strict=True) if a]
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)


def random_sample(n: int, size: int, seed: int) -> np.ndarray:
    if size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
