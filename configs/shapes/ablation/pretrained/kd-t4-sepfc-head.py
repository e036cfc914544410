# KD ablation, `kd-t4-sepfc-head`: both `kd-t4-sepfc` and `kd-t4-head`: the KD
# gradient reaches only the classification branch's FCs and classifier, no
# parameter that box regression uses.
_base_ = ['./kd-t4-sepfc.py']

custom_imports = dict(
    imports=['ctkd_det', 'ctkd_det.experiments.head_kd'],
    allow_failed_imports=False)
model = dict(type='HeadKDTwoStageDetector')
