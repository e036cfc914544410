# KD ablation, student backbone from scratch (tools/kd_ablation.py's default):
# ../pretrained/ctkd-global-tmax4.py without the pretrained backbone.
_base_ = ['../pretrained/ctkd-global-tmax4.py']

model = dict(backbone=dict(init_cfg=None))
