# The results table's teacher (tools/experiment.py trains it first, in
# work_dirs/experiment/teacher): the shapes R50-FPN, 20 epochs (LR steps at 3/4 and
# 11/12), weights-only checkpoint.
_base_ = ['../faster-rcnn_r50_fpn_shapes.py']

train_cfg = dict(max_epochs=20, val_interval=20)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=20, by_epoch=True,
         milestones=[15, 18], gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=20, save_optimizer=False))
