# One-stage teacher of the CPU-sized generated sets: the student's RetinaNet
# (retinanet_r18_fpn_cpu.py: same FPN levels, strides and anchors, so their
# class logits align location by location) with a ResNet-50 + FPN(128 ch) and a
# wider head. The config sets the class count, as for the student.
_base_ = './retinanet_r18_fpn_cpu.py'

neck_channels = 128

model = dict(
    backbone=dict(depth=50),
    neck=dict(in_channels=[256, 512, 1024, 2048], out_channels=neck_channels),
    bbox_head=dict(in_channels=neck_channels, feat_channels=neck_channels))
