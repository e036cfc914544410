"""Where does a distilled student lose mAP75: box regression or score ranking?

Per trained run (work dirs with ``config.py`` and ``last_checkpoint``): mean IoU
of the true positives, r75/r50, score-IoU Spearman correlation and the last
epoch's ``loss_bbox`` (:mod:`ctkd_det.experiments.box_quality` defines them).

Usage: ``python tools/box_quality.py RUN_DIR [RUN_DIR ...] [--group-by-parent]``
(e.g. ``work_dirs/experiment/*/seed*``); prints a Markdown table.
"""
import argparse
import os.path as osp
from collections import defaultdict

from ctkd_det.experiments.box_quality import (evaluate_run, format_result,
                                              format_table)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('runs', nargs='+', help='training work dirs')
    p.add_argument('--group-by-parent', action='store_true',
                   help='average the runs of one parent dir (e.g. seeds)')
    args = p.parse_args(argv)
    groups = defaultdict(list)
    for run in args.runs:
        key = osp.basename(osp.dirname(osp.normpath(run))) \
            if args.group_by_parent else run
        res = evaluate_run(run)
        print(format_result(run, res), flush=True)
        groups[key].append(res)
    print()
    print(format_table(groups))


if __name__ == '__main__':
    main()
