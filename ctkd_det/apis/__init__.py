from .runs import (final_metrics, last_checkpoint, read_scalars, set_data_root,
                   set_epochs, set_img_size, train_cached)

__all__ = ['train_cached', 'set_epochs', 'set_data_root', 'set_img_size', 'read_scalars',
           'final_metrics', 'last_checkpoint']
