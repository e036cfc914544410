# Cascade R-CNN teacher of the CPU-sized generated sets: the Cascade student
# (cascade-rcnn_r18_fpn_cpu.py) with the Faster R-CNN teacher's sizes
# (faster-rcnn_r50_fpn_cpu.py): ResNet-50 + FPN(128 ch), wider RoI heads (every
# stage). The config sets the class count, as for the student.
_base_ = './cascade-rcnn_r18_fpn_cpu.py'

neck_channels = 128

model = dict(
    backbone=dict(depth=50),
    neck=dict(in_channels=[256, 512, 1024, 2048], out_channels=neck_channels),
    rpn_head=dict(in_channels=neck_channels, feat_channels=neck_channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=neck_channels),
        bbox_head=[
            dict(head, in_channels=neck_channels, fc_out_channels=1024)
            for head in _base_.model.roi_head.bbox_head
        ]))
