# Glyphs dev-split check (never the val split): CTKD's instance T on KD, the
# table's cell configs/glyphs/table/ctkd-instance.py evaluated on dev. Its seed-0
# val run drove every RoI's T to the upper bound 21 within ~45 iterations; this
# run and its fixed-T twin at that bound (..._kd-t21_dev_glyphs.py) tell whether
# the instance module adds anything beyond KD at a high T (docs/glyphs/README.md).
_base_ = ['../table/ctkd-instance.py', './_base_/dev_split.py']

val_dataloader = _base_.dev_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.dev_evaluator
test_evaluator = val_evaluator
