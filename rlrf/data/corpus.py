"""The bundled corpus: real, permissively licensed SVGs shipped with the repository.

SVG-Stack (the paper's training data, Sec. 4 / App. A) lives on the Hugging Face hub,
which this environment cannot reach. `data/corpus/corpus.parquet` stands in for it in
the default recipe: icons, emoji, font glyphs and Openclipart/Tango illustrations fetched
from npm and Debian by `scripts/build_corpus.py` (see `data/corpus/SOURCES.md` for
packages, versions and licences). This module only reads it and checks its shape.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

logger = logging.getLogger(__name__)

KINDS = ("icon", "emoji", "glyph", "illustration", "flag")

CORPUS_SCHEMA = pa.schema(
    [
        pa.field("sample_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("license", pa.string(), nullable=False),
        pa.field("origin", pa.string(), nullable=False),
        pa.field("caption", pa.string(), nullable=False),
        pa.field("svg", pa.string(), nullable=False),
    ]
)


class CorpusError(ValueError):
    """The bundled corpus file is missing or does not have the expected columns."""


def load_bundled(path: str | Path) -> pa.Table:
    """Read the bundled corpus Parquet and check it has every column of `CORPUS_SCHEMA`.

    Extra columns are kept. Raises `CorpusError` naming the path and the missing or
    mistyped column.
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"bundled corpus not found: {path} (rebuild: scripts/build_corpus.py)")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise CorpusError(f"cannot read bundled corpus {path}: {exc}") from exc
    for field in CORPUS_SCHEMA:
        if field.name not in table.column_names:
            raise CorpusError(
                f"bundled corpus {path} lacks column {field.name!r} "
                f"(has {table.column_names})"
            )
        actual = table.schema.field(field.name).type
        if not (actual == field.type or actual == pa.large_string()):
            raise CorpusError(
                f"bundled corpus {path}: column {field.name!r} is {actual}, expected {field.type}"
            )
    logger.info("loaded bundled corpus %s: %d rows", path, table.num_rows)
    return table
