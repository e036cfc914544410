from .curriculum_temperature_hook import CurriculumTemperatureHook, cosine_lambda
from .dataset_check_hook import DistillDataCheckHook, model_num_classes
from .rl_temperature_hook import RLTemperatureHook
from .rng_state_hook import RngStateHook, capture_rng_state, restore_rng_state

__all__ = ['CurriculumTemperatureHook', 'cosine_lambda', 'DistillDataCheckHook',
           'model_num_classes', 'RngStateHook', 'capture_rng_state',
           'restore_rng_state', 'RLTemperatureHook']
