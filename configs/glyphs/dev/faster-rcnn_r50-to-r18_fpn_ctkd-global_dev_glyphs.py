# Glyphs dev-split check (never the val split): CTKD's global T on KD from the
# fragment's θ₀ = -4 (T₀ ≈ 1.36), the table's cell
# configs/glyphs/table/ctkd-global.py evaluated on dev. With
# ..._ctkd-global_t0-high_dev_glyphs.py it re-checks on KD the θ₀ decision taken
# on DKD (docs/glyphs/README.md).
_base_ = ['../table/ctkd-global.py', './_base_/dev_split.py']

val_dataloader = _base_.dev_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.dev_evaluator
test_evaluator = val_evaluator
