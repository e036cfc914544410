# Results table, `none`: the R18-FPN student alone, its backbone from the table's
# pretraining run (table/pretrain.py), 12 epochs, weights-only checkpoint.
_base_ = ['../faster-rcnn_r18_fpn_shapes.py']

model = dict(backbone=dict(init_cfg=dict(
    _delete_=True,
    type='Pretrained', prefix='backbone.',
    checkpoint='work_dirs/experiment/pretrain/epoch_12.pth')))
default_hooks = dict(checkpoint=dict(save_optimizer=False))
