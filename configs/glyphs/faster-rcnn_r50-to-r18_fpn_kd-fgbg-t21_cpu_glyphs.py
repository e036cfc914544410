# Glyphs, R50 -> R18: fg/bg KD (faster-rcnn_r50-to-r18_fpn_kd-fgbg_cpu_glyphs.py)
# at a fixed T = 21, the best fixed T of plain KD on the dev split
# (dev/..._kd-t21_dev_glyphs.py) and, on fg/bg KD, a tie with CTKD's learned T
# on dev (dev/..._kd-fgbg-t21_dev_glyphs.py): the searched fixed-T baseline
# that CTKD global on fg/bg KD must match without the search.
_base_ = ['./faster-rcnn_r50-to-r18_fpn_kd-fgbg_cpu_glyphs.py']

model = dict(temperature=dict(value=21.0))
