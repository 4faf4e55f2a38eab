-- funnel_live_summary: one row per per-row curation filter (key: filter) of a curate run
-- still in progress, over the prep funnel parts its finished shards wrote so far
-- (`funnel_live`); the same columns as funnel_summary. dedupe, route and select come later.
-- rows_in = kept + dropped holds for every filter; `reasons` lists drop reasons by count.
-- requires: funnel_live
CREATE OR REPLACE VIEW funnel_live_summary AS
WITH per_filter AS (
    SELECT
        filter,
        min(step) AS step,
        count(*) AS rows_in,
        count(*) FILTER (WHERE kept) AS kept,
        count(*) FILTER (WHERE NOT kept) AS dropped
    FROM funnel_live
    GROUP BY filter
),
reasons AS (
    SELECT filter, string_agg(reason || ' ' || n, ', ' ORDER BY n DESC, reason) AS reasons
    FROM (
        SELECT filter, reason, count(*) AS n
        FROM funnel_live
        WHERE NOT kept
        GROUP BY filter, reason
    )
    GROUP BY filter
)
SELECT p.step, p.filter, p.rows_in, p.kept, p.dropped, coalesce(r.reasons, '') AS reasons
FROM per_filter p
LEFT JOIN reasons r USING (filter)
ORDER BY p.step;
