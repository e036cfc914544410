# Glyphs dev-split check (never the val split): fg/bg KD at a fixed T = 21, the
# best fixed T of plain KD on dev (..._kd-t21_dev_glyphs.py). The table's cell
# configs/glyphs/table/kd-fgbg-t21.py evaluated on dev; does a high fixed T
# match CTKD's learned one (..._ctkd-global-fgbg_t0-high_dev_glyphs.py,
# T 15.6 -> 9.6) on this loss? (docs/glyphs/README.md).
_base_ = ['../table/kd-fgbg-t21.py', './_base_/dev_split.py']

val_dataloader = _base_.dev_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.dev_evaluator
test_evaluator = val_evaluator
