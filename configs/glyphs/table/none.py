# Glyphs results table, `none`: the R18-FPN student alone, its backbone from the
# table's pretraining run (as every student of the table:
# _base_/table_checkpoints.py), 6 epochs (_base_/table_schedule.py),
# weights-only checkpoint.
_base_ = [
    '../faster-rcnn_r18_fpn_glyphs.py',
    './_base_/table_checkpoints.py',
    './_base_/table_schedule.py',
]

model = dict(backbone=_base_.table_kd_model.backbone)
train_cfg = _base_.table_train_cfg
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=_base_.table_epochs,
         milestones=_base_.table_lr_milestones)]
default_hooks = dict(checkpoint=_base_.table_checkpoint)
