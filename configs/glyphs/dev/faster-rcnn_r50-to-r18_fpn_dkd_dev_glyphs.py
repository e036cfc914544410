# Glyphs dev-split tuning run (never the val split): DKD at its fixed T = 1 (the
# twin). The table's cell configs/glyphs/table/dkd.py (same teacher, pretrained
# backbone, 6 epochs), evaluated on dev: the fixed-T reference for the θ₀ pair
# (..._ctkd-global-dkd*_dev_glyphs.py). Not run yet: the θ₀ decision compared
# the pair only (docs/glyphs/README.md).
_base_ = ['../table/dkd.py', './_base_/dev_split.py']

val_dataloader = _base_.dev_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.dev_evaluator
test_evaluator = val_evaluator
