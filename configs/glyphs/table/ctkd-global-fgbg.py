# Glyphs results table, `ctkd-global-fgbg`: CTKD's global T from θ0 = 1 on fg/bg
# KD (the twin of kd-fgbg; CTKD on the table's best loss): the `ctkd-global` cell
# (its teacher, pretrained backbone, 6-epoch schedule and curriculum) with the
# fg/bg loss, as faster-rcnn_r50-to-r18_fpn_ctkd-global-fgbg_cpu_glyphs.py is the
# ctkd-global config with it.
_base_ = ['./ctkd-global.py', '../../_base_/losses/kd-fgbg.py']

model = dict(distill_loss=dict(_base_.kd_loss, _delete_=True))
