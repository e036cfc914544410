# Faster R-CNN FPN R101 -> R50, COCO 1x: fg/bg KD at a fixed T = 1: KD over the
# foreground and the background RoIs, each averaged over its own RoIs and weighted
# 2 / 2 (DeFeat's RoI head; the best loss of the glyphs table, docs/glyphs).
# Bases: student + teacher + COCO data + 1x schedule; temperature module; the
# fg/bg loss. Override e.g. `model.teacher_ckpt=/path.pth`.
_base_ = [
    './_base_/faster-rcnn_r101-to-r50_fpn_1x_coco.py',
    '../_base_/methods/kd-t1.py',
    '../_base_/losses/kd-fgbg.py',
]
model = dict(
    temperature=_base_.kd_temperature,
    distill_loss=dict(_base_.kd_loss, _delete_=True))
