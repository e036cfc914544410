"""The experiment layer: cached training runs (``runs``), a job pool with CPU
thread settings (``pool``), run plans of config files (``plans``), result tables
(``results``), temperature curves (``curves``), and the experiments built on them
(``table``: the shapes results table, ``ablation``: the KD ablation, ``demo``)."""
from .curves import plot_curves
from .plans import (ABLATION_VARIANTS, TABLE_METHODS, ablation_config,
                    load_config, table_config)
from .pool import JobPool
from .results import aggregate, paired_deltas, write_results
from .runs import cache_key, config_digest, is_cached, train_cached

__all__ = ['train_cached', 'is_cached', 'cache_key', 'config_digest', 'JobPool',
           'load_config', 'table_config', 'ablation_config', 'TABLE_METHODS',
           'ABLATION_VARIANTS', 'aggregate', 'paired_deltas', 'write_results',
           'plot_curves']
