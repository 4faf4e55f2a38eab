-- rlrf_vs_sft: one row per eval split (key: dataset). The paper's claim checked on the same
-- samples: RLRF (SFT + GRPO) against its SFT starting point, paired by sample_id; failed
-- renders count as blank images on both sides (as in `metrics`).
-- requires: metrics
CREATE OR REPLACE VIEW rlrf_vs_sft AS
WITH paired AS (
    SELECT s.dataset, s.sample_id,
           s.mse AS mse_sft, r.mse AS mse_rlrf, s.ssim AS ssim_sft, r.ssim AS ssim_rlrf,
           s.ink_iou AS iou_sft, r.ink_iou AS iou_rlrf,
           s.render_ok AS ok_sft, r.render_ok AS ok_rlrf
    FROM metrics s
    JOIN metrics r ON r.dataset = s.dataset AND r.sample_id = s.sample_id AND r.model_label = 'rlrf'
    WHERE s.model_label = 'sft' AND s.mse IS NOT NULL AND r.mse IS NOT NULL
)
SELECT
    dataset,
    count(*) AS n,
    avg(mse_sft) AS mse_sft,
    avg(mse_rlrf) AS mse_rlrf,
    avg(ssim_sft) AS ssim_sft,
    avg(ssim_rlrf) AS ssim_rlrf,
    avg(iou_sft) AS ink_iou_sft,
    avg(iou_rlrf) AS ink_iou_rlrf,
    avg(CASE WHEN ok_sft THEN 1.0 ELSE 0.0 END) AS valid_sft,
    avg(CASE WHEN ok_rlrf THEN 1.0 ELSE 0.0 END) AS valid_rlrf,
    avg(mse_rlrf) < avg(mse_sft) AS rlrf_better_mse,
    avg(ssim_rlrf) > avg(ssim_sft) AS rlrf_better_ssim,
    avg(iou_rlrf) > avg(iou_sft) AS rlrf_better_ink_iou,
    avg(CASE WHEN mse_rlrf < mse_sft THEN 1.0 WHEN mse_rlrf > mse_sft THEN 0.0 ELSE 0.5 END) AS share_samples_rlrf_better_mse
FROM paired
GROUP BY dataset
ORDER BY dataset;
