"""Experiment drivers over the package: benchmarks, run evaluation, tables."""
