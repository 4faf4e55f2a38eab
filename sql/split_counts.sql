-- split_counts: one row per split × source (key: split, source) of the curated samples.
-- requires: samples
CREATE OR REPLACE VIEW split_counts AS
SELECT
    split,
    source,
    count(*) AS n,
    round(avg(n_tokens), 1) AS mean_tokens,
    round(avg(color_entropy), 2) AS mean_color_entropy
FROM samples
GROUP BY split, source
ORDER BY split, source;
