# Glyphs results table, `kd-fgbg`: KD at T = 1 with foreground and background
# RoIs averaged apart and weighted 2 / 2 (DeFeat's RoI head); the glyphs config
# faster-rcnn_r50-to-r18_fpn_kd-fgbg_cpu_glyphs.py from the table's teacher, the
# student's backbone from the table's pretraining run
# (_base_/table_checkpoints.py), 12 epochs, weights-only checkpoint.
_base_ = [
    '../faster-rcnn_r50-to-r18_fpn_kd-fgbg_cpu_glyphs.py',
    './_base_/table_checkpoints.py',
]

model = _base_.table_kd_model
default_hooks = dict(checkpoint=dict(save_optimizer=False))
