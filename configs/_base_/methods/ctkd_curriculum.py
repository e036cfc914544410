# CTKD curriculum, shared by the CTKD method fragments: the gradient-reversal scale
# λ rises 0 -> 1 (cosine) over `loops` epochs, then stays at 1.
#
# Ramp length: the authors ramp over 10 epochs of long classification schedules
# (240 epochs on CIFAR). On a 12-epoch COCO 1x schedule (LR drops at epochs 8 and
# 11) 10 epochs would leave λ short of 1 until the LR has already dropped twice.
# loops=6 completes the ramp at epoch 6: the hardest stage (λ=1) runs for the
# second half of the schedule, including two full-LR epochs in which the
# temperature can still move. For a 2x schedule (LR drops at 16, 22) use ~12.
custom_hooks = [
    dict(
        type='CurriculumTemperatureHook',
        lambda_min=0.0,
        lambda_max=1.0,
        loops=6,
        by_epoch=True)
]
