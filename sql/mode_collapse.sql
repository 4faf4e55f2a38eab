-- mode_collapse: one row per model_label x split (key: model_label, split). How often a model
-- writes the same SVG for different targets (RLRF drawing one box for every target, greedy
-- decoding repeating itself): a metric mean can hide it, the gallery shows it.
--   top_output_share  share of the split's predictions equal to the model's most frequent SVG
--   distinct_share    distinct SVGs / predictions (1 = a different SVG for every target)
--   top_output        that most frequent SVG (first 200 characters)
--   top_first_shape_share  share whose first drawn element (<path>, <rect>, ...) is the most
--                     frequent first element: catches one big box under different details
--   top_first_shape   that element
-- A baseline that draws nothing (blank) has top_output_share 1 by construction.
-- requires: predictions
CREATE OR REPLACE VIEW mode_collapse AS
WITH counts AS (
    SELECT model_label, dataset AS split, coalesce(svg_pred, '') AS svg, count(*) AS c
    FROM predictions
    GROUP BY ALL
),
first_shapes AS (
    SELECT
        model_label,
        dataset AS split,
        regexp_extract(coalesce(svg_pred, ''), '<(path|rect|circle|ellipse|polygon|polyline|line)\b[^>]*>', 0)
            AS shape,
        count(*) AS c
    FROM predictions
    GROUP BY ALL
),
top_shape AS (
    SELECT model_label, split, shape, c
    FROM first_shapes
    WHERE shape <> ''
    QUALIFY row_number() OVER (PARTITION BY model_label, split ORDER BY c DESC, shape) = 1
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
    ranked.c / n AS top_output_share,
    left(svg, 200) AS top_output,
    coalesce(ts.c, 0) / n AS top_first_shape_share,
    left(ts.shape, 200) AS top_first_shape
FROM ranked
LEFT JOIN top_shape ts USING (model_label, split)
WHERE rk = 1
ORDER BY split, model_label;
