-- mode_collapse: one row per model_label x split (key: model_label, split). How often a model
-- writes the same SVG for different targets (RLRF drawing one box for every target, greedy
-- decoding repeating itself): a metric mean can hide it, the gallery shows it.
--   top_output_share  share of the split's predictions equal to the model's most frequent SVG
--   distinct_share    distinct SVGs / predictions (1 = a different SVG for every target)
--   top_output        that most frequent SVG (first 200 characters)
-- A baseline that draws nothing (blank) has top_output_share 1 by construction.
-- requires: predictions
CREATE OR REPLACE VIEW mode_collapse AS
WITH counts AS (
    SELECT model_label, dataset AS split, coalesce(svg_pred, '') AS svg, count(*) AS c
    FROM predictions
    GROUP BY ALL
),
ranked AS (
    SELECT
        *,
        sum(c) OVER w AS n,
        count(*) OVER w AS n_distinct,
        row_number() OVER (PARTITION BY model_label, split ORDER BY c DESC, svg) AS rk
    FROM counts
    WINDOW w AS (PARTITION BY model_label, split)
)
SELECT
    model_label,
    split,
    n,
    n_distinct / n AS distinct_share,
    c / n AS top_output_share,
    left(svg, 200) AS top_output
FROM ranked
WHERE rk = 1
ORDER BY split, model_label;
