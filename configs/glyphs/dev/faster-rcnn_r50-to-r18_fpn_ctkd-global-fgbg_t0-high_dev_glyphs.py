# Glyphs dev-split check (never the val split): CTKD's global T from the
# authors' θ₀ = 1 (T₀ ≈ 15.6) on fg/bg KD (DeFeat's 2 / 2 weights), the table's
# cell configs/glyphs/table/ctkd-global-fgbg.py evaluated on dev; the check that
# chose that cell for the val table (docs/glyphs/README.md).
_base_ = ['../table/ctkd-global-fgbg.py', './_base_/dev_split.py']

val_dataloader = _base_.dev_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.dev_evaluator
test_evaluator = val_evaluator
