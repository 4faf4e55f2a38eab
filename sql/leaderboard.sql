-- leaderboard: one row per model_label x split (key: model_label, split).
-- Mean and 95% CI half-width (1.96 * sd / sqrt(n)) of every metric over scored samples.
-- A failed prediction render is scored as a blank image and counted in render_failure_rate;
-- samples whose GT does not render are unscored and counted in n_gt_render_failed.
-- ink_iou: IoU of prediction and target ink masks (any channel < 200 at 128 px); a blank or a
-- dash scores ~0. ink_ratio_median: median over samples of prediction ink / target ink (1 = as
-- much ink as the target); ink_share_median / target_ink_share_median: the two shares' medians.
-- NULL means come with n_<metric>_unavailable > 0: weights were missing, not a zero score.
-- requires: metrics
CREATE OR REPLACE VIEW leaderboard AS
WITH scored AS (
    SELECT *, status <> 'gt_render_failed' AS is_scored
    FROM metrics
)
SELECT
    model_label,
    dataset AS split,
    count(*) AS n,
    count(*) FILTER (WHERE is_scored) AS n_scored,
    count(*) FILTER (WHERE NOT is_scored) AS n_gt_render_failed,
    avg(CASE WHEN render_ok THEN 0.0 ELSE 1.0 END) FILTER (WHERE is_scored) AS render_failure_rate,
    avg(mse) AS mse,
    1.96 * stddev_samp(mse) / sqrt(count(mse)) AS mse_ci95,
    avg(ssim) AS ssim,
    1.96 * stddev_samp(ssim) / sqrt(count(ssim)) AS ssim_ci95,
    avg(dino) AS dino,
    1.96 * stddev_samp(dino) / sqrt(count(dino)) AS dino_ci95,
    avg(lpips) AS lpips,
    1.96 * stddev_samp(lpips) / sqrt(count(lpips)) AS lpips_ci95,
    avg(ink_iou) AS ink_iou,
    1.96 * stddev_samp(ink_iou) / sqrt(count(ink_iou)) AS ink_iou_ci95,
    median(ink_ratio) AS ink_ratio_median,
    median(ink_pred) AS ink_share_median,
    median(ink_gt) AS target_ink_share_median,
    avg(CASE WHEN ink_pred < 0.1 * ink_gt THEN 1.0 ELSE 0.0 END) FILTER (WHERE ink_gt > 0) AS low_ink_rate,
    avg(code_eff) FILTER (WHERE is_scored) AS code_eff,
    1.96 * stddev_samp(code_eff) FILTER (WHERE is_scored)
        / sqrt(count(code_eff) FILTER (WHERE is_scored)) AS code_eff_ci95,
    avg(pred_tokens) FILTER (WHERE is_scored) AS pred_tokens,
    avg(seconds) AS seconds_per_sample,
    avg(clip) AS clip,
    1.96 * stddev_samp(clip) / sqrt(count(clip)) AS clip_ci95,
    avg(vlm_judge) AS vlm_judge,
    1.96 * stddev_samp(vlm_judge) / sqrt(count(vlm_judge)) AS vlm_judge_ci95,
    count(*) FILTER (WHERE dino_status = 'weights_unavailable') AS n_dino_unavailable,
    count(*) FILTER (WHERE lpips_status = 'weights_unavailable') AS n_lpips_unavailable,
    count(*) FILTER (WHERE clip_status = 'weights_unavailable') AS n_clip_unavailable,
    count(*) FILTER (WHERE vlm_judge_status = 'weights_unavailable') AS n_vlm_judge_unavailable
FROM scored
GROUP BY model_label, dataset
ORDER BY split, model_label;
