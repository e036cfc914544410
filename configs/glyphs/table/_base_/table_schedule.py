# The glyphs results table's student schedule: 6 epochs (192 iterations at batch 8
# on 256 images; the 12 of the glyphs configs would take the 3-seed table past
# its 2 h on 2 cores), as `tools/experiment.py --benchmark glyphs` runs it
# (ctkd_det.apis.rescale_schedule of the 12-epoch configs: LR steps at 3/4 and
# 11/12, one validation and one checkpoint at the end, CTKD's curriculum over
# the first third). Helpers, not `train_cfg` etc. (mmengine refuses one key in
# two `_base_` files): each cell sets its schedule keys from them.
table_epochs = 6
table_train_cfg = dict(max_epochs=table_epochs, val_interval=table_epochs)
table_lr_milestones = [4, 5]
table_checkpoint = dict(interval=table_epochs, save_optimizer=False)
table_curriculum_loops = 2  # epochs of CTKD's λ ramp (4 of 12 in the leaves)
