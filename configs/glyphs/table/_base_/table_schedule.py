# The glyphs results table's student schedule: 4 epochs (128 iterations at batch 8
# on 256 images), so that the table's default rows, 3 seeds each, train in
# under 2 h on 2 cores with `--jobs 2` once the teacher exists
# (docs/glyphs/README.md, "Time"). It is what `tools/experiment.py --benchmark
# glyphs --epochs 4` makes of the 12-epoch configs
# (ctkd_det.apis.rescale_schedule): warm-up over the first epoch, one LR step
# at 3/4 (3, as 11/12 rounds to the end), one validation and one checkpoint at
# the end, CTKD's curriculum over the first third (43 iterations; 4 of 12 epochs
# in the leaves). Helpers, not `train_cfg` etc. (mmengine refuses one key in two
# `_base_` files): each cell sets its schedule keys from them.
table_epochs = 4
table_train_cfg = dict(max_epochs=table_epochs, val_interval=table_epochs)
table_warmup_iters = 32
table_lr_milestones = [3]
table_checkpoint = dict(interval=table_epochs, save_optimizer=False)
table_curriculum = dict(loops=43, by_epoch=False)  # CTKD's λ ramp, iterations
