-- funnel_summary_of(tbl): the funnel summary of any table shaped as `funnel` (by name), one
-- row per filter (key: filter) in pipeline order: step, filter, rows_in, kept, dropped,
-- reasons (drop reasons by count; for `route` and `rl_select`, where no row leaves, where the
-- rows went). rows_in = kept + dropped holds for every filter. Used by funnel_summary (the
-- finished funnel) and funnel_live_summary (the prep parts of a curate still running).
-- requires:
CREATE OR REPLACE MACRO funnel_summary_of(tbl) AS TABLE
WITH per_filter AS (
    SELECT
        filter,
        min(step) AS step,
        count(*) AS rows_in,
        count(*) FILTER (WHERE kept) AS kept,
        count(*) FILTER (WHERE NOT kept) AS dropped
    FROM query_table(tbl)
    GROUP BY filter
),
reasons AS (
    SELECT filter, string_agg(reason || ' ' || n, ', ' ORDER BY n DESC, reason) AS reasons
    FROM (
        SELECT filter, reason, count(*) AS n
        FROM query_table(tbl)
        WHERE NOT kept OR filter IN ('route', 'rl_select')
        GROUP BY filter, reason
    )
    GROUP BY filter
)
SELECT p.step, p.filter, p.rows_in, p.kept, p.dropped, coalesce(r.reasons, '') AS reasons
FROM per_filter p
LEFT JOIN reasons r USING (filter)
ORDER BY p.step;
