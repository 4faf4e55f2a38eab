from rlrf.models.tokenizer import SPECIAL_TOKENS, count_tokens, load_tokenizer
from tests.models.micro import ICONS


def test_specials_are_single_tokens(micro_tokenizer):
    for tok in SPECIAL_TOKENS:
        ids = micro_tokenizer(tok, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1, tok
    assert micro_tokenizer.eos_token == "<|im_end|>"
    assert micro_tokenizer.pad_token_id != micro_tokenizer.eos_token_id


def test_byte_level_roundtrip_of_arbitrary_text(micro_tokenizer):
    text = ICONS[0] + " ünïcødé ✓ \x00\t"
    ids = micro_tokenizer(text, add_special_tokens=False)["input_ids"]
    assert micro_tokenizer.decode(ids) == text


def test_bpe_compresses_svg(micro_tokenizer):
    n = count_tokens(micro_tokenizer, ICONS)
    assert all(0 < k < len(s) for k, s in zip(n, ICONS, strict=True))
    assert sum(n) < 0.6 * sum(len(s) for s in ICONS)  # merges learnt from the corpus
    assert count_tokens(micro_tokenizer, []) == []


def test_chat_template_places_image_and_stop_token(micro_tokenizer):
    msgs = [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "draw"}]},
        {"role": "assistant", "content": "<svg/>"},
    ]
    text = micro_tokenizer.apply_chat_template(msgs, tokenize=False)
    assert "<|vision_start|><|image_pad|><|vision_end|>draw<|im_end|>" in text
    assert text.endswith("<|im_start|>assistant\n<svg/><|im_end|>\n")


def test_save_and_load_trained(micro_tokenizer, tmp_path):
    from rlrf.config import TokenizerConfig

    micro_tokenizer.save_pretrained(tmp_path)
    tok = load_tokenizer(TokenizerConfig(), tmp_path)
    assert tok(ICONS[1])["input_ids"] == micro_tokenizer(ICONS[1])["input_ids"]
    assert tok.chat_template == micro_tokenizer.chat_template
