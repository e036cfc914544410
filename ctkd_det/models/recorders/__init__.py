from .roi_recorder import RoIRecord, RoIRecorder, sampled_roi_ious

__all__ = ['RoIRecord', 'RoIRecorder', 'sampled_roi_ious']
