# Glyphs dev-split check (never the val split): KD at a fixed T = 21, the upper
# bound where CTKD's instance T saturated on the seed-0 val run. The table's cell
# configs/glyphs/table/kd-t4.py with T = 21, evaluated on dev; compared with
# ..._ctkd-instance_dev_glyphs.py (docs/glyphs/README.md).
_base_ = ['../table/kd-t4.py', './_base_/dev_split.py']

model = dict(temperature=dict(value=21.0))
val_dataloader = _base_.dev_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.dev_evaluator
test_evaluator = val_evaluator
