"""Running one config: ``train`` / ``test`` (``python -m ctkd_det.apis.train``; the
entry points of ``tools/train.py`` / ``tools/test.py``, not imported here), adapting
a shapes config (``settings``) and reading a finished run's work dir
(``work_dir``)."""
from .settings import (fit_warmup, rescale_schedule, scale_curriculum,
                       set_data_root, set_epochs, set_img_size)
from .work_dir import final_metrics, last_checkpoint, read_scalars, scalars_path

__all__ = ['set_epochs', 'set_data_root', 'set_img_size', 'fit_warmup',
           'scale_curriculum', 'rescale_schedule', 'read_scalars', 'scalars_path',
           'final_metrics', 'last_checkpoint']
