-- funnel_summary: one row per curation filter (key: filter), in pipeline order.
-- rows_in = kept + dropped holds for every filter; `reasons` lists drop reasons by count.
-- requires: funnel, funnel_summary_of
CREATE OR REPLACE VIEW funnel_summary AS
SELECT * FROM funnel_summary_of('funnel');
