# One-stage teacher on the shapes set: RetinaNet, ResNet-50 + FPN(128 ch), wider
# head; same data, strides and anchors as the R18 student. 24 epochs (LR steps
# at 3/4 and 11/12), twice the student's: from scratch, RetinaNet R50 needs them
# to pull clearly ahead of the R18 student (the KD row needs a teacher worth
# imitating). Train it with
#   python tools/train.py configs/shapes/retinanet_r50_fpn_shapes.py \
#       --work-dir work_dirs/shapes/retinanet_teacher
_base_ = [
    '../_base_/models/retinanet_r50_fpn_cpu.py',
    './_base_/shapes_detection.py',
    '../_base_/schedules/adamw_12e_cpu.py',
]

num_classes = 4
model = dict(bbox_head=dict(num_classes=num_classes))

train_cfg = dict(max_epochs=24, val_interval=24)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=24, by_epoch=True,
         milestones=[18, 22], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=24, save_optimizer=False))
