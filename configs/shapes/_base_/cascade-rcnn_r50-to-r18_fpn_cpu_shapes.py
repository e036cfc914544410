# Pairing on the shapes set: Cascade R-CNN R50-FPN(128) teacher -> Cascade R-CNN
# R18-FPN(64) student (configs/shapes/cascade-rcnn_r18_fpn_shapes.py), turned
# into a KDTwoStageDetector: every stage's RoI logits distilled from the
# teacher's same stage (`kd_stages=None`). The teacher checkpoint comes from
# training configs/shapes/cascade-rcnn_r50_fpn_shapes.py, e.g.
#   python tools/train.py configs/shapes/cascade-rcnn_r50_fpn_shapes.py \
#       --work-dir work_dirs/shapes/cascade-rcnn_teacher
# then `--cfg-options model.teacher_ckpt=work_dirs/shapes/cascade-rcnn_teacher/epoch_12.pth`.
#
# Not trainable by itself: a method fragment (configs/_base_/methods/) adds the
# temperature, and each config next to `_base_/` sets `model.teacher_config`.
_base_ = [
    '../cascade-rcnn_r18_fpn_shapes.py',
    '../../_base_/distill/kd_two_stage.py',
]

model = dict(_base_.kd_model,
             teacher_ckpt='work_dirs/shapes/cascade-rcnn_teacher.pth')

# no decay on the temperature; ctkd_det's run-time checks (see kd_two_stage.py)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'temperature': dict(decay_mult=0.0)}))
default_hooks = dict(
    distill_data_check=dict(type='DistillDataCheckHook'),
    rng_state=dict(type='RngStateHook'))
