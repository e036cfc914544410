# The results table's backbone pretraining (tools/experiment.py trains it first, in
# work_dirs/experiment/pretrain): the R18-FPN student alone, 12 epochs on a separate
# generated set (data/shapes_pretrain: generator seed 2, 128 train / 16 val images,
# none of the table's). Its backbone initialises every student of the table, as
# detection students start from ImageNet weights.
_base_ = ['../faster-rcnn_r18_fpn_shapes.py']

train_dataloader = dict(dataset=dict(data_root='data/shapes_pretrain/'))
val_dataloader = dict(dataset=dict(data_root='data/shapes_pretrain/'))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file='data/shapes_pretrain/annotations/val.json')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_optimizer=False))
