# Glyphs dev-split tuning run (never the val split): CTKD's global T on DKD from
# θ₀ = -4 (T₀ = 1 + 20·σ(-4) ≈ 1.36, near DKD's T = 1). The table's cell
# configs/glyphs/table/ctkd-global-dkd.py (same teacher, pretrained backbone, 6
# epochs), evaluated on dev. Decided CTKD's θ₀ on detection
# (docs/glyphs/README.md).
_base_ = ['../table/ctkd-global-dkd.py', './_base_/dev_split.py']

model = dict(temperature=dict(init_value=-4.0))
val_dataloader = _base_.dev_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.dev_evaluator
test_evaluator = val_evaluator
