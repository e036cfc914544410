# The glyphs dev split, for tuning runs only (never the val split): the
# evaluation data of every config in configs/glyphs/dev/. Helpers, not the
# dataloader keys themselves: each dev config inherits a table cell, which
# already defines val_dataloader / val_evaluator, and mmengine refuses a key
# defined in two bases. A dev config sets
#   val_dataloader = _base_.dev_dataloader
#   val_evaluator = _base_.dev_evaluator
# (and the test_* keys equal to them); the dicts merge into the cell's.
dev_dataloader = dict(
    dataset=dict(ann_file='annotations/dev.json', data_prefix=dict(img='dev/')))
dev_evaluator = dict(ann_file='data/glyphs/annotations/dev.json')
