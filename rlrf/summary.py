"""The run summary a user reads at the end of `make run`: splits, funnel, training
numbers, leaderboard, and every metric or reward that was unavailable (said loudly)."""

from __future__ import annotations

import json

from rlrf.artifacts import Manifest, Store


def _table(con, sql: str, params: list | None = None, limit: int = 40) -> str:
    try:
        rel = con.execute(sql, params or [])
    except Exception as exc:  # noqa: BLE001 - a missing view just means the stage has not run
        return f"_(not available: {str(exc).splitlines()[0]})_"
    cols = [d[0] for d in rel.description]
    rows = rel.fetchmany(limit)
    if not rows:
        return "_(no rows)_"
    fmt = [" | ".join(cols), " | ".join("---" for _ in cols)]
    for r in rows:
        fmt.append(" | ".join(_cell(v) for v in r))
    return "\n".join(fmt)


def _cell(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _views(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}


def summary_markdown(con, store: Store) -> str:
    views = _views(con)
    out = [f"# rlrf run summary: recipe `{store.recipe}`", ""]
    out += ["## Rows per split", _table(con, "SELECT split, count(*) AS n FROM samples GROUP BY split ORDER BY split")
            if "samples" in views else "_(curate has not run)_", ""]
    if "funnel_summary" in views:
        out += ["## Curation funnel (rows_in = kept + dropped)",
                _table(con, "SELECT step, filter, rows_in, kept, dropped, reasons FROM funnel_summary"), ""]
    for stage in ("sft", "grpo", "eval"):
        found = store.latest(stage)
        if found is None:
            continue
        d, m = found
        out += [f"## {stage}", f"artifacts: `{d}`"]
        summary_file = d / "summary.json"
        if summary_file.exists():
            # per-split means are in the leaderboard below; notes are printed as NOTE lines
            shown = {k: v for k, v in json.loads(summary_file.read_text()).items() if k not in ("means", "notes")}
            out += ["```json", json.dumps(shown, indent=1, default=str)[:4000], "```"]
            if shown.get("stopped_by_time_budget"):
                out.append(f"> **WARNING** {stage} stopped on its time budget (a guard), before the steps the "
                           "recipe sets: this model depends on machine speed")
        out += _notes(m)
        out.append("")
    out += _claim(con, views, store)
    if "leaderboard" in views:
        out += ["## Leaderboard (mean per model x split; see `rlrf sql` for CIs)",
                _table(con, "SELECT * FROM leaderboard ORDER BY split, model_label"), ""]
    return "\n".join(out)


def _claim(con, views: set[str], store: Store) -> list[str]:
    """The product's core claim, checked: GRPO reward rises, and RLRF beats SFT held out."""
    out = ["## Does RLRF learn? (reward over GRPO steps; RLRF vs SFT on the same held-out rows)"]
    found = store.latest("grpo")
    if found is not None and (found[0] / "summary.json").exists():
        g = json.loads((found[0] / "summary.json").read_text())
        first, last = g.get("reward_first_10pct"), g.get("reward_last_10pct")
        if first is not None and last is not None:
            verdict = "rose" if last > first else "did NOT rise"
            out.append(f"GRPO mean reward, first 10% of steps {first:.3f} -> last 10% {last:.3f}: {verdict}")
    if "rlrf_vs_sft" in views:
        out.append(_table(con, "SELECT * FROM rlrf_vs_sft"))
    return [*out, ""] if len(out) > 1 else []


def _notes(m: Manifest) -> list[str]:
    return [f"> **NOTE** {n}" for n in m.notes]
