"""Image and learned scores, and the weights they load, once: the bottom layer that
rewards (`rlrf.rewards`), evaluation (`rlrf.eval`) and curation (`rlrf.data`) all import.

`METRICS` is the metric registry: each evaluation metric is declared once (name,
function or loader, higher-is-better, task), in `pixels.py` or `learned.py`; the
`metrics` table's schema, the leaderboard, the report and the weights notes derive from it.
"""

from rlrf.scores.base import Metric
from rlrf.scores.learned import LEARNED_METRICS
from rlrf.scores.pixels import PIXEL_METRICS

METRICS: tuple[Metric, ...] = (*PIXEL_METRICS, *LEARNED_METRICS)

__all__ = ["METRICS", "Metric"]
