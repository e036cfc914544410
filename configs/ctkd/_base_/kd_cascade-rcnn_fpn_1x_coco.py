# Shared base of the configs/ctkd Cascade R-CNN configs: mmdet's Cascade R-CNN
# R50-FPN student on COCO (3 stages, stage loss weights 1 / 0.5 / 0.25; 1x
# schedule: 12 epochs, LR steps at 8 and 11, SGD lr 0.02 for 8 GPUs x 2 images),
# turned into a KDTwoStageDetector that distils every stage's RoI logits from the
# teacher's same stage (`kd_stages=None`; e.g. `model.kd_stages=[2]` for the
# last stage only). The KD terms are logged as `s0.loss_kd`, `s1.loss_kd`, ...
# and weighted like the stages' own losses.
#
# Not trainable by itself: a pairing base (teacher) and a method fragment
# (temperature module) complete it, as for kd_faster-rcnn_fpn_1x_coco.py.
_base_ = [
    'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
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
