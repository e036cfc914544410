# Glyphs dev-split check (never the val split): CTKD's instance T on KD, the
# table's cell configs/glyphs/table/ctkd-instance.py evaluated on dev. Its seed-0
# val run drove every RoI's T to the upper bound 21 within ~45 iterations; this
# run and its fixed-T twin at that bound (..._kd-t21_dev_glyphs.py) tell whether
# the instance module adds anything beyond KD at a high T (docs/glyphs/README.md).
_base_ = ['../table/ctkd-instance.py']

val_dataloader = dict(
    dataset=dict(ann_file='annotations/dev.json', data_prefix=dict(img='dev/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file='data/glyphs/annotations/dev.json')
test_evaluator = val_evaluator
