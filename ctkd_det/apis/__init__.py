from .runs import (final_metrics, last_checkpoint, read_scalars, set_data_root,
                   set_epochs, train_cached)

__all__ = ['train_cached', 'set_epochs', 'set_data_root', 'read_scalars',
           'final_metrics', 'last_checkpoint']
