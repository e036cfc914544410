# Glyphs dev-split check (never the val split): CTKD's global T on KD from the
# fragment's θ₀ = -4 (T₀ ≈ 1.36), the table's cell
# configs/glyphs/table/ctkd-global.py evaluated on dev. With
# ..._ctkd-global_t0-high_dev_glyphs.py it re-checks on KD the θ₀ decision taken
# on DKD (docs/glyphs/README.md).
_base_ = ['../table/ctkd-global.py']

val_dataloader = dict(
    dataset=dict(ann_file='annotations/dev.json', data_prefix=dict(img='dev/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file='data/glyphs/annotations/dev.json')
test_evaluator = val_evaluator
