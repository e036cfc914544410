# Results table, `rlkd`: RLKD, PPO-chosen per-RoI temperatures (the shapes RLKD
# config), from the table's teacher (table/teacher.py), the student's backbone
# from the table's pretraining run (table/pretrain.py), 12 epochs, weights-only
# checkpoint.
_base_ = ['../faster-rcnn_r50-to-r18_fpn_rlkd_cpu_shapes.py']

model = dict(
    teacher_ckpt='work_dirs/experiment/teacher/epoch_20.pth',
    backbone=dict(init_cfg=dict(
        _delete_=True,
        type='Pretrained', prefix='backbone.',
        checkpoint='work_dirs/experiment/pretrain/epoch_12.pth')))
default_hooks = dict(checkpoint=dict(save_optimizer=False))
