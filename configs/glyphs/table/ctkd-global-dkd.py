# Glyphs results table, `ctkd-global-dkd`: CTKD's global T on DKD (the twin of
# dkd; the CTKD authors' detection setup); the glyphs config
# faster-rcnn_r50-to-r18_fpn_ctkd-global-dkd_cpu_glyphs.py from the table's
# teacher, the student's backbone from the table's pretraining run
# (_base_/table_checkpoints.py), 6 epochs (_base_/table_schedule.py),
# weights-only checkpoint.
_base_ = [
    '../faster-rcnn_r50-to-r18_fpn_ctkd-global-dkd_cpu_glyphs.py',
    './_base_/table_checkpoints.py',
    './_base_/table_schedule.py',
]

model = _base_.table_kd_model
train_cfg = _base_.table_train_cfg
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=_base_.table_epochs,
         milestones=_base_.table_lr_milestones)]
default_hooks = dict(checkpoint=_base_.table_checkpoint)
custom_hooks = [
    dict(_base_.custom_hooks[0], loops=_base_.table_curriculum_loops)]
