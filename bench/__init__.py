"""planwatch national-scale benchmark (docs/benchmarks.md)."""
