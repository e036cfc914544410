"""Generate the synthetic COCO-format shapes set (ctkd_det.datasets.shapes).

    python tools/make_shapes.py --out data/shapes --num-train 128 --num-val 64 \
        --size 160 --seed 0
"""
import argparse

from ctkd_det.datasets import make_shapes


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default='data/shapes', help='output directory')
    p.add_argument('--num-train', type=int, default=128)
    p.add_argument('--num-val', type=int, default=64)
    p.add_argument('--size', type=int, default=160, help='image side in pixels')
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args()


def main():
    args = parse_args()
    res = make_shapes(args.out, args.num_train, args.num_val, args.size,
                      args.seed)
    if res['generated']:
        print(f'wrote {args.out}: {args.num_train} train / {args.num_val} val '
              f'images of {args.size}px, instances {res["num_instances"]}')
    else:
        print(f'{args.out} is up to date (same parameters); nothing to do')


if __name__ == '__main__':
    main()
