from .dkd_loss import DKDLoss
from .kd_loss import KDLoss
from .sigmoid_kd_loss import SigmoidKDLoss

__all__ = ['KDLoss', 'DKDLoss', 'SigmoidKDLoss']
