"""Session fixtures shared with tests/train (defined in tests/models/micro.py)."""

from tests.models.micro import micro_model_cfg, micro_tokenizer  # noqa: F401
