from .head_kd_two_stage import HeadKDTwoStageDetector
from .kd_two_stage import KDTwoStageDetector

__all__ = ['KDTwoStageDetector', 'HeadKDTwoStageDetector']
