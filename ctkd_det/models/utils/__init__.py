from .roi_stages import (bbox_stages, is_multi_stage, num_bbox_stages,
                         stage_bbox_forward, stage_classes, stage_loss_weights,
                         stage_prefix)

__all__ = ['is_multi_stage', 'bbox_stages', 'num_bbox_stages',
           'stage_classes', 'stage_loss_weights', 'stage_prefix',
           'stage_bbox_forward']
