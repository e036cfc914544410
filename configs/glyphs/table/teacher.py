# The glyphs results table's teacher (`tools/experiment.py --benchmark glyphs`
# trains it first, in work_dirs/glyphs_experiment/teacher): the glyphs R50-FPN
# as its config, 12 epochs (LR steps at 9 and 11), weights-only checkpoint.
_base_ = ['../faster-rcnn_r50_fpn_glyphs.py']

default_hooks = dict(checkpoint=dict(save_optimizer=False))
