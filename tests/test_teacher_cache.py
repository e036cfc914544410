"""TeacherFeatureCache: the teacher's features memoised per input image, with the
same training steps as without it, bounded memory and misses on changed inputs."""
import pytest
import torch
from mmdet.registry import MODELS

import ctkd_det  # noqa: F401
from ctkd_det.models.detectors.teacher_cache import TeacherFeatureCache

from _tiny import fake_batch, tiny_kd, tiny_kd_single


def _counting(fn):
    """``fn`` that records the batch size of every call in ``.calls``."""
    def wrapped(x):
        wrapped.calls.append(len(x))
        return fn(x)
    wrapped.calls = []
    return wrapped


def _levels(x):
    # two "levels", one of them a function of the whole image
    return (x * 2.0, x.mean(dim=(2, 3), keepdim=True))


def test_cache_hits_seen_images_and_computes_only_the_new_ones():
    cache = TeacherFeatureCache(max_mb=16)
    compute = _counting(_levels)
    a = torch.randn(4, 3, 8, 8)
    first = cache(a, compute)
    assert not cache.full
    assert compute.calls == [4] and (cache.hits, cache.misses) == (0, 4)
    for got, want in zip(first, _levels(a)):
        assert torch.equal(got, want)
    again = cache(a, compute)
    assert compute.calls == [4] and cache.hits == 4  # nothing computed
    for got, want in zip(again, first):
        assert torch.equal(got, want)
    # a batch mixing seen and new images: only the new ones are computed, and
    # the rows come back in the batch's order
    b = torch.randn(2, 3, 8, 8)
    mixed = torch.cat([b[:1], a[2:3], b[1:], a[:1]])
    out = cache(mixed, compute)
    assert compute.calls == [4, 2] and len(cache) == 6
    for got, want in zip(out, _levels(mixed)):
        torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_changed_input_is_a_miss_never_a_wrong_hit():
    cache = TeacherFeatureCache(max_mb=16)
    compute = _counting(_levels)
    a = torch.randn(1, 3, 8, 8)
    cache(a, compute)
    flipped = a.flip(3)           # another augmentation of the same image
    nudged = a.clone()
    nudged[0, 0, 0, 0] += 1e-6    # one value
    padded = torch.nn.functional.pad(a, (0, 2, 0, 2))  # another padding
    for x in (flipped, nudged, padded, a.double()):
        out = cache(x, compute)
        assert torch.equal(out[0], x * 2.0)
    assert cache.misses == 5 and cache.hits == 0


def test_cache_stops_adding_at_its_memory_bound():
    per_image = (3 * 8 * 8 + 3) * 4  # bytes of one image's two levels
    cache = TeacherFeatureCache(max_mb=2.5 * per_image / 2**20)
    compute = _counting(_levels)
    x = torch.randn(4, 3, 8, 8)
    out = cache(x, compute)
    assert len(cache) == 2 and cache.bytes == 2 * per_image and cache.full
    assert cache.bytes <= cache.max_bytes
    assert torch.equal(out[0], x * 2.0)  # all rows returned all the same
    cache(x, compute)  # the first two hit, the two that did not fit are redone
    assert compute.calls == [4, 2] and cache.hits == 2
    with pytest.raises(ValueError, match='max_mb'):
        TeacherFeatureCache(max_mb=0)


def _step_losses(model, steps=3):
    """Losses of ``steps`` SGD steps over two alternating batches (each batch
    is seen twice: the second time the cache hits)."""
    torch.manual_seed(0)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    batches = [fake_batch(seed=0), fake_batch(seed=1)]
    trace = []
    for step in range(steps):
        torch.manual_seed(100 + step)
        losses = model.loss(*batches[step % 2])
        total = sum(sum(v) if isinstance(v, list) else v
                    for k, v in losses.items() if 'loss' in k)
        opt.zero_grad()
        total.backward()
        opt.step()
        trace.append({k: float((sum(v) if isinstance(v, list) else v).detach())
                      for k, v in losses.items()})
    return trace


@pytest.mark.parametrize('build', [
    lambda **kw: tiny_kd(**kw),
    lambda **kw: tiny_kd_single(**kw)],
    ids=['two-stage', 'single-stage'])
def test_distillation_with_the_cache_trains_as_without_it(build):
    """Every step's losses (KD term included) equal the uncached model's, and
    the teacher's backbone runs only for images it has not seen."""
    runs = {}
    for mb in (0, 64):
        torch.manual_seed(0)
        model = MODELS.build(build(teacher_cache_mb=mb))
        model.init_weights()
        calls = []
        orig = model.teacher.extract_feat
        model.teacher.extract_feat = lambda x: calls.append(len(x)) or orig(x)
        runs[mb] = (_step_losses(model, steps=4), calls, model)
    (plain, plain_calls, _), (cached, calls, model) = runs[0], runs[64]
    assert plain_calls == [2, 2, 2, 2] and calls == [2, 2]
    assert model.teacher_cache.hits == 4 and model.teacher_cache.misses == 4
    for a, b in zip(plain, cached):
        assert a.keys() == b.keys()
        for k in a:
            assert b[k] == pytest.approx(a[k], rel=1e-6, abs=1e-7), k


def test_cache_config_errors_and_device_moves_clear_it():
    with pytest.raises(ValueError, match='eval_teacher=True'):
        MODELS.build(tiny_kd(teacher_cache_mb=64, eval_teacher=False))
    with pytest.raises(ValueError, match='teacher_cache_mb must be >= 0'):
        MODELS.build(tiny_kd(teacher_cache_mb=-1))
    assert MODELS.build(tiny_kd()).teacher_cache is None  # off by default
    model = MODELS.build(tiny_kd(teacher_cache_mb=64))
    model.train()
    model.loss(*fake_batch())
    assert len(model.teacher_cache) == 2
    model.double()  # cached float32 features would be stale
    assert len(model.teacher_cache) == 0 and model.teacher_cache.bytes == 0
