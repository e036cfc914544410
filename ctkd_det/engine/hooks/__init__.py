from .curriculum_temperature_hook import CurriculumTemperatureHook, cosine_lambda

__all__ = ['CurriculumTemperatureHook', 'cosine_lambda']
