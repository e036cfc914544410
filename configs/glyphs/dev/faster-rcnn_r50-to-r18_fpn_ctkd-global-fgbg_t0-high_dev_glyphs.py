# Glyphs dev-split check (never the val split): CTKD's global T from the
# authors' θ₀ = 1 (T₀ ≈ 15.6) on the table's best loss, fg/bg KD (DeFeat's 2 / 2
# weights): the table's cell configs/glyphs/table/ctkd-global.py with the loss of
# configs/_base_/losses/kd-fgbg.py, evaluated on dev (docs/glyphs/README.md).
_base_ = ['../table/ctkd-global.py', '../../_base_/losses/kd-fgbg.py',
          './_base_/dev_split.py']

model = dict(temperature=dict(init_value=1.0),
             distill_loss=dict(_base_.kd_loss, _delete_=True))
val_dataloader = _base_.dev_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.dev_evaluator
test_evaluator = val_evaluator
