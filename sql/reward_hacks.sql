-- reward_hacks: one row per GRPO step (key: step). Share of that step's roll-outs that show
-- a known reward hack (RLRF §3, App. on reward design):
--   tiny_viewbox_share     viewBox width or height <= 4 (draw small, let the renderer upscale)
--   short_share            completion under half the GT's length in tokens (length collapse;
--                          the paper's length reward gives -1 there)
--   text_share             any <text> element (writing instead of drawing)
--   text_restates_caption  a <text> whose content appears in the sample's caption / prompt
--   render_failure_share   completions that did not render
--   same_svg_other_target_share  the exact SVG was also written for another target in the
--                          same step (mode collapse: one drawing, e.g. a big box, for all)
-- requires: rollouts, samples
CREATE OR REPLACE VIEW reward_hacks AS
WITH r AS (
    SELECT
        ro.step,
        ro.sample_id,
        coalesce(ro.svg, '') AS svg,
        ro.render_ok,
        ro.n_tokens,
        ro.gt_n_tokens,
        ro.total,
        lower(coalesce(s.caption, '')) AS caption,
        regexp_extract(
            coalesce(ro.svg, ''),
            'viewBox\s*=\s*["'']\s*([-+0-9.eE]+)[\s,]+([-+0-9.eE]+)[\s,]+([-+0-9.eE]+)[\s,]+([-+0-9.eE]+)',
            ['x', 'y', 'w', 'h']
        ) AS vb,
        lower(trim(regexp_extract(coalesce(ro.svg, ''), '<text\b[^>]*>\s*([^<]*)', 1))) AS text_content
    FROM rollouts ro
    LEFT JOIN samples s USING (sample_id)
),
targets_per_svg AS (
    SELECT step, svg, count(DISTINCT sample_id) AS n_targets
    FROM r
    GROUP BY step, svg
)
SELECT
    step,
    count(*) AS n_rollouts,
    avg(CASE WHEN try_cast(vb.w AS DOUBLE) <= 4 OR try_cast(vb.h AS DOUBLE) <= 4 THEN 1.0 ELSE 0.0 END)
        AS tiny_viewbox_share,
    avg(CASE WHEN n_tokens < 0.5 * gt_n_tokens THEN 1.0 ELSE 0.0 END)
        AS short_share,
    avg(CASE WHEN regexp_matches(svg, '<text\b') THEN 1.0 ELSE 0.0 END) AS text_share,
    avg(CASE WHEN length(text_content) >= 3 AND caption <> '' AND contains(caption, text_content)
        THEN 1.0 ELSE 0.0 END) AS text_restates_caption_share,
    avg(CASE WHEN render_ok THEN 0.0 ELSE 1.0 END) AS render_failure_share,
    avg(CASE WHEN t.n_targets > 1 THEN 1.0 ELSE 0.0 END) AS same_svg_other_target_share,
    avg(total) AS mean_total
FROM r
JOIN targets_per_svg t USING (step, svg)
GROUP BY step
ORDER BY step;
