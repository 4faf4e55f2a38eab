-- leaderboard: one row per model_label x split (key: model_label, split).
-- Mean and 95% CI half-width (1.96 * sd / sqrt(n), column <metric>_ci95) of every metric over
-- scored samples: every numeric column of `metrics` that is not a key, a status, a token count
-- or an ink diagnostic, so a metric registered in rlrf/scores/ appears here without editing
-- this file (code_eff = GT tokens - predicted tokens is one of them).
-- A failed prediction render is scored as a blank image and counted in render_failure_rate;
-- samples whose GT does not render are unscored and counted in n_gt_render_failed.
-- ink_ratio_median: median over samples of prediction ink / target ink (1 = as much ink as the
-- target); ink_share_median / target_ink_share_median: the two shares' medians.
-- NULL means come with n_<metric>_unavailable > 0: weights were missing, not a zero score.
-- requires: metrics
CREATE OR REPLACE VIEW leaderboard AS
WITH scored AS (
    SELECT *, status <> 'gt_render_failed' AS is_scored
    FROM metrics
),
scores AS (
    SELECT
        model_label,
        dataset,
        COLUMNS(lambda c: c NOT IN ('model_label', 'dataset', 'sample_id', 'is_scored', 'render_ok', 'status',
                                    'error', 'seconds', 'gt_tokens', 'pred_tokens', 'ink_pred', 'ink_gt',
                                    'ink_ratio')
                          AND NOT suffix(c, '_status') AND NOT prefix(c, 'ink_layout')) AS 'score_\0'
    FROM scored
    WHERE is_scored
),
means AS (
    SELECT
        model_label,
        dataset,
        avg(COLUMNS('^score_(.+)$')) AS '\1',
        1.96 * stddev_samp(COLUMNS('^score_(.+)$')) / sqrt(count(COLUMNS('^score_(.+)$'))) AS '\1_ci95'
    FROM scores
    GROUP BY model_label, dataset
),
counts AS (
    SELECT
        model_label,
        dataset,
        count(*) AS n,
        count(*) FILTER (WHERE is_scored) AS n_scored,
        count(*) FILTER (WHERE NOT is_scored) AS n_gt_render_failed,
        avg(CASE WHEN render_ok THEN 0.0 ELSE 1.0 END) FILTER (WHERE is_scored) AS render_failure_rate,
        median(ink_ratio) AS ink_ratio_median,
        median(ink_pred) AS ink_share_median,
        median(ink_gt) AS target_ink_share_median,
        avg(CASE WHEN ink_pred < 0.1 * ink_gt THEN 1.0 ELSE 0.0 END) FILTER (WHERE ink_gt > 0) AS low_ink_rate,
        avg(pred_tokens) FILTER (WHERE is_scored) AS pred_tokens,
        avg(seconds) AS seconds_per_sample,
        sum(CAST(COLUMNS('^(.+)_status$') = 'weights_unavailable' AS BIGINT)) AS 'n_\1_unavailable'
    FROM scored
    GROUP BY model_label, dataset
)
SELECT
    c.model_label,
    c.dataset AS split,
    c.n,
    c.n_scored,
    c.n_gt_render_failed,
    c.render_failure_rate,
    m.* EXCLUDE (model_label, dataset),
    c.* EXCLUDE (model_label, dataset, n, n_scored, n_gt_render_failed, render_failure_rate)
FROM counts c
LEFT JOIN means m ON m.model_label = c.model_label AND m.dataset = c.dataset
ORDER BY split, c.model_label;
