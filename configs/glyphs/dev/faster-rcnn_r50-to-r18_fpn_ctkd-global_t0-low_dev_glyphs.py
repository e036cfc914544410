# Glyphs dev-split check (never the val split): CTKD's global T on KD from
# θ₀ = -4 (T₀ ≈ 1.36, the start the table's cell configs/glyphs/table/ctkd-global.py
# had until the dev split chose θ₀ = 1 for KD), evaluated on dev. With
# ..._ctkd-global_t0-high_dev_glyphs.py it re-checks on KD the θ₀ decision taken
# on DKD (docs/glyphs/README.md).
_base_ = ['../table/ctkd-global.py', './_base_/dev_split.py']

model = dict(temperature=dict(init_value=-4.0))
val_dataloader = _base_.dev_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.dev_evaluator
test_evaluator = val_evaluator
