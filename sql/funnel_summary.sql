-- funnel_summary: one row per curation filter (key: filter), in pipeline order.
-- rows_in = kept + dropped holds for every filter; `reasons` lists drop reasons by count.
-- requires: funnel
CREATE OR REPLACE VIEW funnel_summary AS
WITH per_filter AS (
    SELECT
        filter,
        min(step) AS step,
        count(*) AS rows_in,
        count(*) FILTER (WHERE kept) AS kept,
        count(*) FILTER (WHERE NOT kept) AS dropped
    FROM funnel
    GROUP BY filter
),
reasons AS (
    SELECT filter, string_agg(reason || ' ' || n, ', ' ORDER BY n DESC, reason) AS reasons
    FROM (
        SELECT filter, reason, count(*) AS n
        FROM funnel
        WHERE NOT kept OR filter IN ('route', 'rl_select')
        GROUP BY filter, reason
    )
    GROUP BY filter
)
SELECT p.step, p.filter, p.rows_in, p.kept, p.dropped, coalesce(r.reasons, '') AS reasons
FROM per_filter p
LEFT JOIN reasons r USING (filter)
ORDER BY p.step;
