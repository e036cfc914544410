# Glyphs dev-split check (never the val split): CTKD's global T on KD from the
# authors' θ₀ = 1 (T₀ = 1 + 20·σ(1) ≈ 15.6), the table's cell
# configs/glyphs/table/ctkd-global.py evaluated on dev (the pin is the fragment's
# start since this check chose it); the pair of ..._ctkd-global_t0-low_dev_glyphs.py
# (θ₀ = -4) (docs/glyphs/README.md).
_base_ = ['../table/ctkd-global.py', './_base_/dev_split.py']

model = dict(temperature=dict(init_value=1.0))
val_dataloader = _base_.dev_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.dev_evaluator
test_evaluator = val_evaluator
