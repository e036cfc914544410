# Glyphs results table, `none`: the R18-FPN student alone, its backbone from the
# table's pretraining run (as every student of the table:
# _base_/table_checkpoints.py), 12 epochs, weights-only checkpoint.
_base_ = [
    '../faster-rcnn_r18_fpn_glyphs.py',
    './_base_/table_checkpoints.py',
]

model = dict(backbone=_base_.table_kd_model.backbone)
default_hooks = dict(checkpoint=dict(save_optimizer=False))
