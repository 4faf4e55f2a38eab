-- funnel_live_summary: one row per per-row curation filter (key: filter) of a curate run
-- still in progress, over the prep funnel parts its finished shards wrote so far
-- (`funnel_live`); the same columns as funnel_summary. dedupe, route and select come later.
-- requires: funnel_live, funnel_summary_of
CREATE OR REPLACE VIEW funnel_live_summary AS
SELECT * FROM funnel_summary_of('funnel_live');
