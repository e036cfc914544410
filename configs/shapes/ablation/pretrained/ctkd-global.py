# KD ablation (tools/kd_ablation.py), `ctkd-global`: the results table's cell
# (table/ctkd-global.py: pretrained student backbone) evaluated on the dev split
# (data/shapes_dev: generator seed 1, images the table never sees); trained on the
# table's images.
_base_ = ['../../table/ctkd-global.py']

val_dataloader = dict(dataset=dict(data_root='data/shapes_dev/'))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file='data/shapes_dev/annotations/val.json')
test_evaluator = val_evaluator
