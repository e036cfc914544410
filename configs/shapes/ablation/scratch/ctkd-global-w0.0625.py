# KD ablation, student backbone from scratch (tools/kd_ablation.py's default):
# ../pretrained/ctkd-global-w0.0625.py without the pretrained backbone.
_base_ = ['../pretrained/ctkd-global-w0.0625.py']

model = dict(backbone=dict(init_cfg=None))
