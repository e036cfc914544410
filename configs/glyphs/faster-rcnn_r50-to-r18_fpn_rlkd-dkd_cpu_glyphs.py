# Glyphs, R50 -> R18: RLKD's per-RoI temperature (a PPO agent, CPU-sized in
# _base_/rlkd_cpu_glyphs.py, warm-up at T = 1) on DKD (alpha 1, beta 0.25), the
# loss that paid best on the dev split when this row was planned
# (docs/glyphs_dev_first_look.md).
_base_ = [
    './_base_/faster-rcnn_r50-to-r18_fpn_cpu_glyphs.py',
    './_base_/rlkd_cpu_glyphs.py',
    '../_base_/losses/dkd.py',
]
model = dict(
    temperature=_base_.kd_temperature,
    distill_loss=dict(_base_.kd_loss, _delete_=True))
