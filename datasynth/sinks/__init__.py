"""Sinks: turn Arrow tables into files (Parquet, CSV, JSON Lines) atomically. No dask inside."""

from datasynth.sinks.files import FileRecord, file_suffix, sha256_of, write_table

__all__ = ["FileRecord", "file_suffix", "sha256_of", "write_table"]
