"""Print the README's reliability figures from the last run of tests/reliability.

    python scripts/reliability_report.py          # from artifacts/reliability/results.jsonl
    python scripts/reliability_report.py --run    # run the suite first

Each test of that suite injects one fault (kill -9, two writers, a full disk, torn or bad
files, hostile input) and records whether the pipeline survived it — the run finished or
resumed to the same result, or stopped with a clear message and a `failed` manifest — and,
where a run resumed, how many train_log rows of finished steps it did not get back.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("RLRF_RELIABILITY_RESULTS", ROOT / "artifacts" / "reliability" / "results.jsonl"))


def load(path: Path) -> list[dict]:
    if not path.exists():
        sys.exit(f"no results at {path}: run `python scripts/reliability_report.py --run` "
                 "(or pytest tests/reliability) first")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def report(rows: list[dict]) -> str:
    survived = sum(r["survived"] for r in rows)
    resumed = [r for r in rows if r.get("rows_lost") is not None]
    lost = sum(r["rows_lost"] for r in resumed)
    out = [f"Faults tried: {len(rows)}; survived: {survived}; rows lost: {lost} "
           f"(over the {len(resumed)} faults after which a run resumed)", "",
           "| fault | survived | rows lost |", "|---|---|---|"]
    for r in rows:
        lost_cell = "—" if r.get("rows_lost") is None else r["rows_lost"]
        fault = r["fault"].replace("|", "/").replace("<", "&lt;")  # a Markdown table cell
        out.append(f"| {fault} | {'yes' if r['survived'] else '**NO**'} | {lost_cell} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="store_true", help="run tests/reliability first")
    args = ap.parse_args(argv)
    if args.run:
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/reliability"],
                       cwd=ROOT, check=False)
    print(report(load(RESULTS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
