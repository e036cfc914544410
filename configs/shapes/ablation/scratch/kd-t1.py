# KD ablation, student backbone from scratch (tools/kd_ablation.py's default):
# ../pretrained/kd-t1.py without the pretrained backbone.
_base_ = ['../pretrained/kd-t1.py']

model = dict(backbone=dict(init_cfg=None))
