"""Experiments and diagnostics: registered only when imported (``custom_imports``)."""
