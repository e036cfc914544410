# RLKD on the shapes set (the COCO method fragment: a PPO agent picks one T per
# sampled RoI, epoch 0 a warm-up at T = 4, reward: change of the foreground RoI
# accuracy `acc_fg`). CPU changes, for the few updates of a CPU run: the agent is
# updated every 8 iterations (16 per epoch at batch 8 on 128 images: ~22 updates
# in 12 epochs), with a larger PPO step (lr 1e-3, COCO 3e-4), exploration
# growing to all RoIs over 10 updates (COCO 100) and a reward-model FIFO of 2
# rollouts as on COCO (16 batches, COCO 100).
_base_ = [
    './_base_/faster-rcnn_r50-to-r18_fpn_cpu_shapes.py',
    '../_base_/methods/rlkd.py',
]
# the fragment's temperature, CPU-sized (redefined: the helper stays equal to
# model.temperature)
kd_temperature = dict(
    _base_.kd_temperature,
    ppo=dict(
        _base_.kd_temperature.ppo,
        optimizer=dict(_base_.kd_temperature.ppo.optimizer, lr=1e-3)),
    decomposition=dict(_base_.kd_temperature.decomposition, buffer_size=16),
    exploration=dict(_base_.kd_temperature.exploration, updates=10))
model = dict(
    teacher_config='{{ fileDirname }}/faster-rcnn_r50_fpn_shapes.py',
    temperature=kd_temperature)

custom_hooks = [dict(_base_.custom_hooks[0], update_interval=8)]
