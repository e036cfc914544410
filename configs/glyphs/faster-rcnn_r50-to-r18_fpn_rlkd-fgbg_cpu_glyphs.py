# Glyphs, R50 -> R18: RLKD's per-RoI temperature (a PPO agent, CPU-sized in
# _base_/rlkd_cpu_glyphs.py, warm-up at T = 1) on fg/bg KD (foreground and
# background RoIs averaged apart, 2 / 2): the best loss of the glyphs table, and
# on dev (fg/bg KD 8.1 dev mAP against 5.7 for the best DKD run).
_base_ = [
    './_base_/faster-rcnn_r50-to-r18_fpn_cpu_glyphs.py',
    './_base_/rlkd_cpu_glyphs.py',
    '../_base_/losses/kd-fgbg.py',
]
model = dict(
    temperature=_base_.kd_temperature,
    distill_loss=dict(_base_.kd_loss, _delete_=True))
