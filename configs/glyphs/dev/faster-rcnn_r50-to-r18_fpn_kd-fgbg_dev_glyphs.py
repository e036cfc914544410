# Glyphs dev-split check (never the val split): fg/bg KD at T = 1 (the table's
# best loss), the table's cell configs/glyphs/table/kd-fgbg.py evaluated on dev;
# the fixed-T twin of ..._ctkd-global-fgbg_t0-high_dev_glyphs.py
# (docs/glyphs/README.md).
_base_ = ['../table/kd-fgbg.py']

val_dataloader = dict(
    dataset=dict(ann_file='annotations/dev.json', data_prefix=dict(img='dev/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file='data/glyphs/annotations/dev.json')
test_evaluator = val_evaluator
