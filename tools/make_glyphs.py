"""Generate the synthetic 'glyphs' detection set (look-alike characters in clutter).

    python tools/make_glyphs.py --out data/glyphs --num-train 256 --num-dev 64 \
        --num-val 128 --size 192 --seed 0 [--samples docs/glyphs_samples.png]

writes ``OUT/{train,dev,val}/NNNNNN.png``, ``OUT/annotations/{train,dev,val}.json``
and ``OUT/meta.json`` (see ``ctkd_det.datasets.glyphs``); does nothing when
``meta.json`` already records the same parameters. ``--samples`` also writes a
preview of the first training images with their boxes.
"""
import argparse
import time

import cv2

from ctkd_det.datasets.glyphs import make_glyphs, sample_sheet


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default='data/glyphs', help='output directory')
    p.add_argument('--num-train', type=int, default=256)
    p.add_argument('--num-dev', type=int, default=64)
    p.add_argument('--num-val', type=int, default=128)
    p.add_argument('--size', type=int, default=192, help='image side in pixels')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--samples', metavar='PNG',
                   help='also write a preview grid of training images here')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    t0 = time.time()
    res = make_glyphs(args.out, args.num_train, args.num_dev, args.num_val,
                      args.size, args.seed)
    if res['generated']:
        print(f'wrote {args.out}: {args.num_train} train / {args.num_dev} dev '
              f'/ {args.num_val} val images of {args.size}px, instances '
              f'{res["num_instances"]} in {time.time() - t0:.1f} s')
    else:
        print(f'{args.out} is up to date (same parameters); nothing to do')
    if args.samples:
        cv2.imwrite(args.samples, sample_sheet(args.out),
                    [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f'wrote {args.samples}')


if __name__ == '__main__':
    main()
