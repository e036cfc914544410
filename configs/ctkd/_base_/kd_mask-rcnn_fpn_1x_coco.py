# Shared base of the configs/ctkd Mask R-CNN configs: mmdet's Mask R-CNN R50-FPN
# student on COCO instances (1x schedule: 12 epochs, LR steps at 8 and 11, SGD lr
# 0.02 for 8 GPUs x 2 images; bbox and segm evaluation), turned into a
# KDTwoStageDetector: KD on the bbox head's RoI logits, the mask branch trains
# with its own loss as in mmdet.
#
# Not trainable by itself: a pairing base (teacher) and a method fragment
# (temperature module) complete it, as for kd_faster-rcnn_fpn_1x_coco.py.
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    '../../_base_/distill/kd_two_stage.py',
]

# mmdet's runtime imports no ctkd_det (the shapes runtime base does the same)
custom_imports = dict(imports=['ctkd_det'], allow_failed_imports=False)

# teacher_config / teacher_ckpt: set by the pairing base; the checkpoint is a
# model-zoo URL, override with `--cfg-options model.teacher_ckpt=/path.pth`.
model = _base_.kd_model

# no decay on the temperature; ctkd_det's run-time checks (see kd_two_stage.py)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'temperature': dict(decay_mult=0.0)}))
default_hooks = dict(
    distill_data_check=dict(type='DistillDataCheckHook'),
    rng_state=dict(type='RngStateHook'))
