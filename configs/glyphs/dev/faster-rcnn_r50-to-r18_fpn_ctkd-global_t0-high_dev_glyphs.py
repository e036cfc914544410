# Glyphs dev-split check (never the val split): CTKD's global T on KD from the
# authors' θ₀ = 1 (T₀ = 1 + 20·σ(1) ≈ 15.6), the table's cell
# configs/glyphs/table/ctkd-global.py evaluated on dev; the pair of
# ..._ctkd-global_dev_glyphs.py (θ₀ = -4) (docs/glyphs/README.md).
_base_ = ['../table/ctkd-global.py']

model = dict(temperature=dict(init_value=1.0))
val_dataloader = dict(
    dataset=dict(ann_file='annotations/dev.json', data_prefix=dict(img='dev/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file='data/glyphs/annotations/dev.json')
test_evaluator = val_evaluator
