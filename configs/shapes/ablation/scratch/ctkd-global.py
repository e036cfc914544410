# KD ablation, student backbone from scratch (tools/kd_ablation.py's default):
# ../pretrained/ctkd-global.py without the pretrained backbone.
_base_ = ['../pretrained/ctkd-global.py']

model = dict(backbone=dict(init_cfg=None))
