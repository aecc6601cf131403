"""Benchmark ingestion (MMLU-Pro, SuperGPQA, MedMCQA, BBEH) into the one Question schema, and splits."""

from rgd.data.benchmarks.ingest import BENCHMARKS, IngestReport, get_spec, load_benchmark
from rgd.data.benchmarks.sources import read_hub_rows, read_local_rows
from rgd.data.benchmarks.split import split_record, stratified_split, write_questions, write_split

__all__ = [
    "BENCHMARKS",
    "IngestReport",
    "get_spec",
    "load_benchmark",
    "read_hub_rows",
    "read_local_rows",
    "split_record",
    "stratified_split",
    "write_questions",
    "write_split",
]
