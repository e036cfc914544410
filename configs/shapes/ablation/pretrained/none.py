# KD ablation (tools/kd_ablation.py), `none`: the results table's cell
# (table/none.py: pretrained student backbone) evaluated on the dev split
# (data/shapes_dev: generator seed 1, images the table never sees); trained on the
# table's images.
_base_ = ['../../table/none.py']

val_dataloader = dict(dataset=dict(data_root='data/shapes_dev/'))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file='data/shapes_dev/annotations/val.json')
test_evaluator = val_evaluator
