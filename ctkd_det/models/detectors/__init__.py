from .kd_two_stage import KDTwoStageDetector

__all__ = ['KDTwoStageDetector']
