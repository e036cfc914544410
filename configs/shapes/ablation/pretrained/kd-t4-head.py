# KD ablation, `kd-t4-head`: `kd-t4` whose KD gradient stays in the RoI bbox head
# (HeadKDTwoStageDetector: KD logits from RoI features detached from the trunk):
# does the KD term hurt box regression through the trunk?
_base_ = ['./kd-t4.py']

custom_imports = dict(
    imports=['ctkd_det', 'ctkd_det.experiments.head_kd'],
    allow_failed_imports=False)
model = dict(type='HeadKDTwoStageDetector')
