from .kd_single_stage import KDSingleStageDetector
from .kd_two_stage import KDTwoStageDetector

__all__ = ['KDTwoStageDetector', 'KDSingleStageDetector']
