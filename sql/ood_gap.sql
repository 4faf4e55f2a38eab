-- ood_gap: one row per model_label x OOD split (key: model_label, ood_split).
-- Difference of means, OOD minus in-distribution test_hard, over scored samples
-- (GT rendered); a failed prediction render counts as a blank image on both sides.
-- Positive mse/lpips gaps and negative ssim/dino gaps mean the model degrades off-distribution.
-- requires: metrics
CREATE OR REPLACE VIEW ood_gap AS
WITH per_split AS (
    SELECT
        model_label,
        dataset AS split,
        count(*) AS n,
        avg(mse) AS mse,
        avg(ssim) AS ssim,
        avg(dino) AS dino,
        avg(lpips) AS lpips,
        avg(code_eff) AS code_eff,
        avg(CASE WHEN render_ok THEN 0.0 ELSE 1.0 END) AS render_failure_rate
    FROM metrics
    WHERE status <> 'gt_render_failed'
    GROUP BY model_label, dataset
)
SELECT
    o.model_label,
    o.split AS ood_split,
    i.n AS n_test_hard,
    o.n AS n_ood,
    o.mse - i.mse AS mse_gap,
    o.ssim - i.ssim AS ssim_gap,
    o.dino - i.dino AS dino_gap,
    o.lpips - i.lpips AS lpips_gap,
    o.code_eff - i.code_eff AS code_eff_gap,
    o.render_failure_rate - i.render_failure_rate AS render_failure_rate_gap,
    i.mse AS mse_test_hard,
    o.mse AS mse_ood,
    i.ssim AS ssim_test_hard,
    o.ssim AS ssim_ood
FROM per_split o
JOIN per_split i ON i.model_label = o.model_label AND i.split = 'test_hard'
WHERE o.split LIKE 'ood%'
ORDER BY o.model_label, o.split;
