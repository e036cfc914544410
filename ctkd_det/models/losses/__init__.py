from .dkd_loss import DKDLoss
from .kd_loss import KDLoss

__all__ = ['KDLoss', 'DKDLoss']
