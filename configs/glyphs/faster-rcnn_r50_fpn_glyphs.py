# Teacher on the glyphs set: Faster R-CNN, ResNet-50 + FPN(128 ch), wider RoI
# head; same data and schedule as the R18 student (as for shapes).
_base_ = ['./faster-rcnn_r18_fpn_glyphs.py']

neck_channels = 128

model = dict(
    backbone=dict(depth=50),
    neck=dict(in_channels=[256, 512, 1024, 2048], out_channels=neck_channels),
    rpn_head=dict(in_channels=neck_channels, feat_channels=neck_channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=neck_channels),
        bbox_head=dict(in_channels=neck_channels, fc_out_channels=1024)))
