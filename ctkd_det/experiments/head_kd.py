"""KD whose gradient stays inside the student's RoI bbox head (a diagnostic).

Not registered by ``import ctkd_det``: a config that uses it imports this module,
``custom_imports=dict(imports=['ctkd_det', 'ctkd_det.experiments.head_kd'])``.
"""
from torch import Tensor

from ctkd_det.models.detectors import KDTwoStageDetector
from ctkd_det.models.recorders import RoIRecord
from ctkd_det.models.utils.roi_stages import bbox_stages
from ctkd_det.registry import MODELS


@MODELS.register_module()
class HeadKDTwoStageDetector(KDTwoStageDetector):
    """:class:`KDTwoStageDetector` whose KD term trains only the RoI bbox head.

    The student's KD logits ``(R, C + 1)`` are recomputed by its bbox head from
    the RoI features ``(R, C_feat, 7, 7)`` *detached* from the trunk, so the KD
    gradient reaches the head's FCs and classifier (and the temperature module)
    but not the RoI extractor, neck or backbone; the detection losses train
    everything as usual. A diagnostic: on the shapes data KD at T >= 2
    degrades box regression also with separate classification / regression
    branches, so this tests whether the trunk is where KD hurts. Measured
    (README, dev-split investigation): it is much *worse* than plain KD
    (0.04-0.09 mAP vs 0.18-0.21): do not train with it. Costs one extra
    bbox-head forward; checkpoints hold :class:`KDTwoStageDetector`'s keys.
    """

    def student_kd_logits(self, record: RoIRecord, stage: int = 0) -> Tensor:
        bbox_head = bbox_stages(self.roi_head)[stage][1]
        return bbox_head(record.bbox_feats.detach())[0]
