# Results table, `kd-fgbg`: KD at T = 1 with foreground and background RoIs
# weighted apart, 2 / 2 (the shapes fg/bg KD config), from the table's teacher,
# the student's backbone from the table's pretraining run
# (_base_/table_checkpoints.py), 12 epochs, weights-only checkpoint.
_base_ = [
    '../faster-rcnn_r50-to-r18_fpn_kd-fgbg_cpu_shapes.py',
    './_base_/table_checkpoints.py',
]

model = _base_.table_kd_model
default_hooks = dict(checkpoint=dict(save_optimizer=False))
