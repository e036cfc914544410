"""A memory-bounded cache of the frozen teacher's features, per input image.

The teacher of a distilled detector is frozen and in eval mode, so its
backbone + neck output for one image depends on that image's input tensor only.
When the training pipeline gives an image the same input every epoch (fixed
resize, no random flip/crop: the generated CPU sets), recomputing it every epoch
is wasted work: on the glyphs set it is a third of a KD step (R50-FPN teacher,
R18-FPN student, 8 images of 192 px). The cache keys each image by a digest of
its input tensor ``(3, H, W)`` (values, dtype and shape: padding included), so a
changed input (random augmentation, another scale) is a miss, never a wrong hit.

Misses are computed as one sub-batch by the caller's function; entries are
added until ``max_mb`` is reached and then kept (no eviction: a data set larger
than the cache keeps hitting on the part that fits instead of thrashing).
"""
import hashlib
from typing import Callable, Dict, List, Sequence, Tuple

import torch
from mmengine.logging import MMLogger
from torch import Tensor

__all__ = ['TeacherFeatureCache']

Feats = Tuple[Tensor, ...]


def input_digest(image: Tensor) -> bytes:
    """Digest of one input ``(3, H, W)``: its shape, dtype and values."""
    array = image.detach().contiguous().cpu()
    h = hashlib.blake2b(digest_size=16)
    h.update(f'{tuple(array.shape)}{array.dtype}'.encode())
    h.update(array.view(torch.uint8).numpy().data if array.numel() else b'')
    return h.digest()


class TeacherFeatureCache:
    """Teacher features ``(B, C_l, H_l, W_l)`` per level, memoised per image.

    Args:
        max_mb: memory the cached features may take (MiB, on their device);
            must be > 0.
    """

    def __init__(self, max_mb: float) -> None:
        if not max_mb > 0:
            raise ValueError(f'teacher feature cache: max_mb must be > 0, '
                             f'got {max_mb}')
        self.max_bytes = int(max_mb * 2**20)
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.full = False  # an image did not fit (warned once)
        self._store: Dict[bytes, List[Tensor]] = {}

    def __len__(self) -> int:
        return len(self._store)

    def clear(self) -> None:
        self._store.clear()
        self.bytes = 0
        self.full = False

    def __call__(self, batch_inputs: Tensor,
                 compute: Callable[[Tensor], Sequence[Tensor]]) -> Feats:
        """The features of ``batch_inputs`` ``(B, 3, H, W)``: cached rows where
        an image was seen, ``compute(batch_inputs[misses])`` for the others
        (``compute`` returns one ``(b, C_l, H_l, W_l)`` tensor per level)."""
        keys = [input_digest(x) for x in batch_inputs]
        miss = [i for i, k in enumerate(keys) if k not in self._store]
        self.hits += len(keys) - len(miss)
        self.misses += len(miss)
        if not miss:
            rows = [self._store[k] for k in keys]
        else:
            whole = len(miss) == len(keys)
            sub = batch_inputs if whole else batch_inputs[
                torch.as_tensor(miss, device=batch_inputs.device)]
            feats = tuple(compute(sub))
            fresh = self._add(keys, miss, feats)
            if whole:  # nothing cached for this batch: as computed
                return feats
            rows = [fresh[i] if i in fresh else self._store[k]
                    for i, k in enumerate(keys)]
        return tuple(torch.stack([r[level] for r in rows])
                     for level in range(len(rows[0])))

    def _add(self, keys: List[bytes], miss: List[int],
             feats: Feats) -> Dict[int, List[Tensor]]:
        """Store copies of the computed rows while the cache has room; returns
        the rows by batch index."""
        fresh = {}
        for j, i in enumerate(miss):
            row = [f[j] for f in feats]
            fresh[i] = row
            size = sum(t.numel() * t.element_size() for t in row)
            if keys[i] in self._store:
                continue
            if self.bytes + size <= self.max_bytes:
                # a copy: a view would keep the whole batch's storage alive
                self._store[keys[i]] = [t.clone() for t in row]
                self.bytes += size
            elif not self.full:
                self.full = True
                MMLogger.get_current_instance().warning(
                    f'teacher feature cache full: {len(self._store)} images '
                    f'in {self.bytes / 2**20:.0f} MiB (teacher_cache_mb '
                    f'{self.max_bytes / 2**20:g}); the teacher recomputes '
                    f'the features of the other images every step')
        return fresh
