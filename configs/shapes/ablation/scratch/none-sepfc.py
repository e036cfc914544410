# KD ablation, student backbone from scratch (tools/kd_ablation.py's default):
# ../pretrained/none-sepfc.py without the pretrained backbone.
_base_ = ['../pretrained/none-sepfc.py']

model = dict(backbone=dict(init_cfg=None))
