# Runtime of the CPU-sized experiments on the generated sets (shapes, glyphs):
# mmdet's default_runtime, adapted. The schedule fragment builds on it
# (configs/_base_/schedules/adamw_12e_cpu.py).
default_scope = 'mmdet'
custom_imports = dict(imports=['ctkd_det'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=5),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # interval: set by the schedule (= max_epochs); save_last keeps the final one
    checkpoint=dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=1, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='gloo'))

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=5, by_epoch=True)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)

# `--auto-scale-lr` would scale lr by total_batch / base_batch_size; off by default.
auto_scale_lr = dict(enable=False, base_batch_size=8)
