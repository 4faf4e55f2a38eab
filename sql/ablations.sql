-- ablations: one row per ablation x cell x eval split (key: ablation, cell_id, split).
-- The newest run of every ablation file of the recipe (`rlrf ablate`): each cell's GRPO
-- model (`rlrf`, or `rlrf_no_sft` when grpo.init = base) with the leaderboard's means and
-- 95% CI half-widths, the swept keys as typed columns (e.g. grpo_temperature) and as JSON
-- (overrides), and the SFT model on the same rows as the reference it should beat.
-- mse_vs_sft < 0 and ssim_vs_sft > 0 are gains; *_rank ranks the cells of an ablation per split
-- (1 = best). A failed cell keeps one row with status 'failed', its error and NULL metrics.
-- requires: ablation_cells
CREATE OR REPLACE VIEW ablations AS
SELECT
    *,
    mse - sft_mse AS mse_vs_sft,
    ssim - sft_ssim AS ssim_vs_sft,
    CASE WHEN mse IS NOT NULL THEN rank() OVER (PARTITION BY ablation, split, mse IS NULL ORDER BY mse) END
        AS mse_rank,
    CASE WHEN ssim IS NOT NULL THEN rank() OVER (PARTITION BY ablation, split, ssim IS NULL ORDER BY ssim DESC) END
        AS ssim_rank
FROM ablation_cells
ORDER BY ablation, split, cell_index;
