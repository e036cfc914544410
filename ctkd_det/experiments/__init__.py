"""The experiment layer on the generated sets: cached training runs (``runs``), a
job pool with CPU thread settings (``pool``), run plans of config files
(``plans``), result tables (``results``), temperature curves (``curves``), and
what is built on them (``table``: the benchmarks' results tables, ``ablation``:
the dev-split KD ablation, ``demo``, ``benchmark``, ``box_quality``).

Never imported by ``import ctkd_det``: the diagnostic detector in ``head_kd``
registers only when a config's ``custom_imports`` names it."""
from .curves import plot_curves
from .plans import (ABLATION_VARIANTS, BENCHMARKS, TABLE_METHODS, Benchmark,
                    ablation_config, load_config, table_config)
from .pool import JobPool
from .results import aggregate, paired_deltas, twin_deltas, write_results
from .runs import cache_key, config_digest, is_cached, train_cached

__all__ = ['train_cached', 'is_cached', 'cache_key', 'config_digest', 'JobPool',
           'load_config', 'table_config', 'ablation_config', 'TABLE_METHODS',
           'ABLATION_VARIANTS', 'Benchmark', 'BENCHMARKS',
           'aggregate', 'paired_deltas', 'twin_deltas', 'write_results',
           'plot_curves']
