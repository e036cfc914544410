# Pairing on the glyphs set: R50-FPN(128) teacher -> R18-FPN(64) student (the
# configs/glyphs models), turned into a KDTwoStageDetector. The teacher checkpoint
# comes from training configs/glyphs/faster-rcnn_r50_fpn_glyphs.py (the glyphs
# table trains it in work_dirs/glyphs/teacher; or pass
# --cfg-options model.teacher_ckpt=...).
#
# Not trainable by itself: a method fragment (configs/_base_/methods/) adds the
# temperature, a loss fragment (configs/_base_/losses/) may replace KDLoss; the
# leaves next to `_base_/` set them. Classes: 29 glyphs + background = 30 logit
# columns (`num_logits`, for the instance temperature).
_base_ = [
    '../faster-rcnn_r18_fpn_glyphs.py',
    '../../_base_/distill/kd_two_stage.py',
]

num_logits = 30
# teacher_cache_mb: the glyphs pipeline gives an image the same input every
# epoch (fixed resize, no flip), so the frozen teacher's features are computed
# once per image (~1.6 MB each, 256 training images) and reused: a third off
# each KD step after the first epoch, the same steps (TeacherFeatureCache)
model = dict(
    _base_.kd_model,
    teacher_config='{{ fileDirname }}/../faster-rcnn_r50_fpn_glyphs.py',
    teacher_ckpt='work_dirs/glyphs/teacher/epoch_12.pth',
    teacher_cache_mb=1024)

# no decay on the temperature; ctkd_det's run-time checks (see kd_two_stage.py)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'temperature': dict(decay_mult=0.0)}))
default_hooks = dict(
    distill_data_check=dict(type='DistillDataCheckHook'),
    rng_state=dict(type='RngStateHook'))
