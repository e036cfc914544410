# Glyphs dev-split tuning run (never the val split): CTKD's global T on DKD from
# the authors' θ₀ = 1 (T₀ = 1 + 20·σ(1) ≈ 15.6, pinned). The table's cell
# configs/glyphs/table/ctkd-global-dkd.py (same teacher, pretrained backbone, 6
# epochs), evaluated on dev. With ..._t0-low_dev_glyphs.py it decided CTKD's θ₀
# on detection (docs/glyphs/README.md).
_base_ = ['../table/ctkd-global-dkd.py', './_base_/dev_split.py']

model = dict(temperature=dict(init_value=1.0))
val_dataloader = _base_.dev_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.dev_evaluator
test_evaluator = val_evaluator
