"""Experiments, benchmarks and diagnostics on the generated sets: importable, never
imported by ``import ctkd_det`` (diagnostic models register on import, through a
config's ``custom_imports``)."""
