# Glyphs results table, `kd-fgbg-t21`: the `kd-fgbg` cell at a fixed T = 21,
# chosen on the dev split (../faster-rcnn_r50-to-r18_fpn_kd-fgbg-t21_cpu_glyphs.py):
# the best fixed temperature found there, against CTKD's learned one.
_base_ = ['./kd-fgbg.py']

model = dict(temperature=dict(value=21.0))
