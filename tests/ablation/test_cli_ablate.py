"""`rlrf ablate`: --dry-run checks the file and lists the cells; a bad file exits 2 naming it."""

from flows.cli import main


def test_dry_run_lists_cells_and_the_stages_they_change(capsys):
    assert main(["ablate", "sft_or_not", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ablation sft_or_not: 2 cells on recipe tiny")
    assert out[1:] == ['  init=sft: {"grpo.init": "sft"}  (changes grpo, eval)',
                       '  init=base: {"grpo.init": "base"}  (changes grpo, eval)']


def test_bad_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("recipe: tiny\ngrid: {grpo.num_generatons: [2, 4]}\n")
    assert main(["ablate", str(bad), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "grpo.num_generatons: unknown key" in err
