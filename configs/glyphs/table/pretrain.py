# The glyphs results table's backbone pretraining (`tools/experiment.py
# --benchmark glyphs` trains it first, in work_dirs/glyphs_table/pretrain):
# the R18-FPN student alone, 12 epochs on a separate generated set
# (data/glyphs_pretrain: generator seed 2, 256 train / 16 dev / 32 val images of
# 192 px, none of the table's). Its backbone initialises every student of the
# table, as detection students start from ImageNet weights.
_base_ = ['../faster-rcnn_r18_fpn_glyphs.py']

train_dataloader = dict(dataset=dict(data_root='data/glyphs_pretrain/'))
val_dataloader = dict(dataset=dict(data_root='data/glyphs_pretrain/'))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file='data/glyphs_pretrain/annotations/val.json')
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_optimizer=False))
