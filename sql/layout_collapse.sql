-- layout_collapse: one row per model_label x split (key: model_label, split). How often a
-- model draws the same picture for different targets, judged on the render, not the text:
-- a filled disc or box drawn for every target counts even when the SVG text (and its first
-- element) differs, which `mode_collapse` misses.
--   n                         scored predictions (the GT rendered)
--   top_ink_layout_share      share of predictions whose 8 x 8 ink layout (a cell is ink when
--                             half of it is; rlrf.scores.pixels.ink_layout) is the model's most
--                             frequent one
--   target_top_ink_layout_share  the same share for the targets: how much the data itself
--                             repeats (flags share a 4:3 box); a model far above it repeats itself
--   blank_layout_share        share of predictions with no ink cell at all
-- A blank canvas has top_ink_layout_share = blank_layout_share = 1.
-- requires: metrics
CREATE OR REPLACE VIEW layout_collapse AS
WITH scored AS (
    SELECT model_label, dataset AS split, ink_layout_pred, ink_layout_gt
    FROM metrics
    WHERE status <> 'gt_render_failed' AND ink_layout_pred IS NOT NULL
),
pred AS (
    SELECT model_label, split, ink_layout_pred AS layout, count(*) AS c
    FROM scored
    GROUP BY model_label, split, ink_layout_pred
    QUALIFY row_number() OVER (PARTITION BY model_label, split ORDER BY c DESC, layout) = 1
),
gt AS (
    SELECT model_label, split, ink_layout_gt AS layout, count(*) AS c
    FROM scored
    GROUP BY model_label, split, ink_layout_gt
    QUALIFY row_number() OVER (PARTITION BY model_label, split ORDER BY c DESC, layout) = 1
),
totals AS (
    SELECT model_label, split, count(*) AS n, avg(CASE WHEN ink_layout_pred = 0 THEN 1.0 ELSE 0.0 END) AS blank_layout_share
    FROM scored
    GROUP BY ALL
)
SELECT
    model_label,
    split,
    n,
    pred.c / n AS top_ink_layout_share,
    gt.c / n AS target_top_ink_layout_share,
    blank_layout_share
FROM totals
JOIN pred USING (model_label, split)
JOIN gt USING (model_label, split)
ORDER BY split, model_label;
