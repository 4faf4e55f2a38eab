-- ood_gap: one row per model_label x OOD split (key: model_label, ood_split).
-- Every leaderboard mean on the OOD split minus the same model's on in-distribution test_hard
-- (<metric>_gap), and both values (<metric>_test_hard, <metric>_ood): read from the
-- leaderboard, so a new metric appears here too. Means are over scored samples (GT rendered);
-- a failed prediction render counts as a blank image on both sides. Positive mse/lpips gaps
-- and negative ssim/dino gaps mean the model degrades off-distribution.
-- requires: metrics
CREATE OR REPLACE VIEW ood_gap AS
WITH means AS (
    SELECT
        model_label,
        split,
        n_scored AS n,
        -- the metric means and the render failure rate; not the ink / token / time diagnostics
        COLUMNS(lambda c: c NOT IN ('model_label', 'split', 'n', 'n_scored', 'n_gt_render_failed', 'low_ink_rate',
                                    'pred_tokens', 'seconds_per_sample')
                          AND NOT suffix(c, '_ci95') AND NOT suffix(c, '_unavailable')
                          AND NOT suffix(c, '_median')) AS 'mean_\0'
    FROM leaderboard
),
paired AS (
    SELECT
        model_label,
        split,
        max(n) FILTER (WHERE split = 'test_hard') OVER per_model AS n_test_hard,
        n AS n_ood,
        COLUMNS('^mean_(.+)$') - max(COLUMNS('^mean_(.+)$')) FILTER (WHERE split = 'test_hard') OVER per_model
            AS '\1_gap',
        max(COLUMNS('^mean_(.+)$')) FILTER (WHERE split = 'test_hard') OVER per_model AS '\1_test_hard',
        COLUMNS('^mean_(.+)$') AS '\1_ood'
    FROM means
    WINDOW per_model AS (PARTITION BY model_label)
)
SELECT model_label, split AS ood_split, * EXCLUDE (model_label, split)
FROM paired
WHERE split LIKE 'ood%' AND n_test_hard IS NOT NULL
ORDER BY model_label, ood_split;
