# Distillation fragment, ready to inherit: vanilla KD, a fixed T = 1 (no hooks),
# the detection recipe on RoI logits (../methods/kd.py says why; for the
# classification recipe's T = 4 set `temperature=dict(type='FixedTemperature',
# value=4.0)` or inherit ../methods/kd-t4.py).
# `kd_model` is KDTwoStageDetector (KDLoss on the RoI class logits, teacher in eval
# mode) with this temperature (`kd_temperature`, from configs/_base_/methods/).
#
# Distil any mmdet two-stage config (ctkd_det imported first, e.g. by our
# tools/train.py):
#
#   _base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',  # the student
#             'ctkd_det::_base_/distill/kd.py']
#   model = dict(_base_.kd_model, teacher_config='...', teacher_ckpt='...')
#
# and, as our configs do (see kd_two_stage.py), no weight decay on the temperature
# and the run-time checks:
#
#   optim_wrapper = dict(
#       paramwise_cfg=dict(custom_keys={'temperature': dict(decay_mult=0.0)}))
#   default_hooks = dict(distill_data_check=dict(type='DistillDataCheckHook'),
#                        rng_state=dict(type='RngStateHook'))
_base_ = ['./kd_two_stage.py', '../methods/kd.py']

kd_model = dict(temperature=_base_.kd_temperature)
