"""Small Arrow helpers shared by the layers that read written tables back."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def strings(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One contiguous plain-string array: dictionary columns decoded, others cast to text."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    return pc.cast(column, pa.string())
