# The glyphs results table's checkpoints, trained first by
# `tools/experiment.py --benchmark glyphs` in work_dirs/glyphs_table: its
# teacher (table/teacher.py, 24 epochs) and the pretraining run
# (table/pretrain.py, 12 epochs) whose backbone initialises every student of the
# table, as detection students start from ImageNet weights.
#
# A helper, not `model` (mmengine refuses one key in two `_base_` files of a
# config, and the cell's method config defines `model`): a distillation cell
# writes `model = _base_.table_kd_model` (merged into its model), the student-only
# cell takes its `backbone`. As a ctkd_det-typed dict the helper is dropped by
# tools/export_student.py, like `kd_model`.
table_kd_model = dict(
    type='KDTwoStageDetector',
    teacher_ckpt='work_dirs/glyphs_table/teacher/epoch_24.pth',
    backbone=dict(init_cfg=dict(
        _delete_=True,
        type='Pretrained', prefix='backbone.',
        checkpoint='work_dirs/glyphs_table/pretrain/epoch_12.pth')))
