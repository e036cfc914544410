# CTKD with instance-wise temperatures: an MLP on the teacher's and student's RoI
# logits (4 classes + background = 5 columns) gives one T per RoI in [1, 21].
_base_ = ['./faster-rcnn_r50-to-r18_fpn_ctkd-global_cpu_shapes.py']

model = dict(
    temperature=dict(
        _delete_=True, type='InstanceTemperature', num_classes=5,
        hidden_dims=(64, 64), t_min=1.0, t_max=21.0, init_value=1.0))
