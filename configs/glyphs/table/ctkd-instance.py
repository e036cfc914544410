# Glyphs results table, `ctkd-instance`: CTKD, one T per RoI from an MLP (the
# twin of kd-t1), on KD; the glyphs config
# faster-rcnn_r50-to-r18_fpn_ctkd-instance_cpu_glyphs.py from the table's
# teacher, the student's backbone from the table's pretraining run
# (_base_/table_checkpoints.py), 12 epochs, weights-only checkpoint.
_base_ = [
    '../faster-rcnn_r50-to-r18_fpn_ctkd-instance_cpu_glyphs.py',
    './_base_/table_checkpoints.py',
]

model = _base_.table_kd_model
default_hooks = dict(checkpoint=dict(save_optimizer=False))
