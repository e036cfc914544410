r"""Plot the KD temperature, the curriculum's λ and loss_kd of training runs
(ctkd_det.experiments.curves).

Reads mmengine's JSON scalar logs (``<work_dir>/<timestamp>/vis_data/scalars.json``,
the newest timestamp of a work dir) and draws one PNG with three panels against the
training iteration: the temperature (mean, and the 10-90 % band across RoIs where
they differ), λ and loss_kd.

    python tools/plot_curves.py work_dirs/experiment/ctkd-global/seed0 \
        work_dirs/experiment/ctkd-instance/seed0 --labels global instance \
        --out docs/curves.png

A run may also be given as the path of a ``scalars.json``. A run without a
scalars log is an error; a run that logged none of the plotted keys (e.g. the
student without distillation) is left out of the panels it has nothing for.
"""
import argparse

from ctkd_det.experiments.curves import default_label, plot_curves


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog='\n\n'.join(__doc__.split('\n\n')[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('runs', nargs='+',
                   help='work dirs (newest <timestamp>/vis_data/scalars.json) '
                   'or scalars.json files')
    p.add_argument('--labels', nargs='+',
                   help='one label per run (default: the work dir names)')
    p.add_argument('--out', default='curves.png', help='output PNG')
    p.add_argument('--title')
    args = p.parse_args(argv)
    if args.labels and len(args.labels) != len(args.runs):
        p.error(f'{len(args.labels)} --labels for {len(args.runs)} runs')
    return args


def main(argv=None):
    args = parse_args(argv)
    labels = args.labels or [default_label(r) for r in args.runs]
    if len(set(labels)) != len(labels):
        raise SystemExit(f'labels are not unique: {labels}; pass --labels')
    try:
        summary = plot_curves(dict(zip(labels, args.runs)), args.out,
                              title=args.title)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f'plot_curves: {e}')
    for label, info in summary['runs'].items():
        drawn = [p for p in ('temperature', 'band', 'lambda', 'loss_kd')
                 if info[p]]
        print(f'{label}: {info["points"]} points, {", ".join(drawn) or "nothing"}'
              f' ({info["scalars"]})')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
