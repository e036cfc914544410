# Glyphs dev-split check (never the val split): fg/bg KD at T = 1 (the table's
# best loss), the table's cell configs/glyphs/table/kd-fgbg.py evaluated on dev;
# the fixed-T twin of ..._ctkd-global-fgbg_t0-high_dev_glyphs.py
# (docs/glyphs/README.md).
_base_ = ['../table/kd-fgbg.py', './_base_/dev_split.py']

val_dataloader = _base_.dev_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.dev_evaluator
test_evaluator = val_evaluator
