# Glyphs dev-split check (never the val split): KD at a fixed T = 21, the upper
# bound where CTKD's instance T saturated on the seed-0 val run. The table's cell
# configs/glyphs/table/kd-t4.py with T = 21, evaluated on dev; compared with
# ..._ctkd-instance_dev_glyphs.py (docs/glyphs/README.md).
_base_ = ['../table/kd-t4.py']

model = dict(temperature=dict(value=21.0))
val_dataloader = dict(
    dataset=dict(ann_file='annotations/dev.json', data_prefix=dict(img='dev/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file='data/glyphs/annotations/dev.json')
test_evaluator = val_evaluator
