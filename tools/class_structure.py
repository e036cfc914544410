"""Does a benchmark have what RoI-logit KD transfers? (ctkd_det.experiments.class_structure)

For each training work dir: its RoI head's confusion on the ground-truth boxes
(off-target class mass within the look-alike family vs chance) and the COCO
error analysis of its detections (AP at IoU .75/.5/.1, then with same-family and
all class confusions forgiven: what classification costs vs localisation).

Usage: ``python tools/class_structure.py RUN_DIR [RUN_DIR ...] [--split dev]
[--group-by-parent] [--json OUT]`` (e.g. ``work_dirs/glyphs/teacher
work_dirs/glyphs/none/seed*``); prints the confusion summaries and a Markdown
table of the breakdown (AP points).
"""
import argparse
import json
import os.path as osp
from collections import defaultdict

from ctkd_det.experiments.class_structure import (breakdown_table,
                                                  error_breakdown,
                                                  format_confusion,
                                                  load_detector, roi_confusion,
                                                  run_files, summarise_runs)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('runs', nargs='+', help='training work dirs')
    p.add_argument('--split', help='evaluate on this split (e.g. dev; default: '
                   'the config\'s val split)')
    p.add_argument('--group-by-parent', action='store_true',
                   help='average the runs of one parent dir (e.g. seeds)')
    p.add_argument('--json', help='write all numbers to this file')
    args = p.parse_args(argv)
    per_run, groups = {}, defaultdict(list)
    for run in args.runs:
        cfg, model, loader = load_detector(*run_files(run), split=args.split)
        conf = roi_confusion(model, loader)
        breakdown = error_breakdown(model, loader)
        print(f'== {run}\n{format_confusion(conf)}', flush=True)
        key = osp.basename(osp.dirname(osp.normpath(run))) \
            if args.group_by_parent else run
        groups[key].append(dict(breakdown, roi_accuracy=conf['accuracy'],
                                within_family=conf['within_family']))
        per_run[run] = dict(confusion=conf, breakdown=breakdown)
    print()
    print(breakdown_table(summarise_runs(groups)))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(per_run, f, indent=1)


if __name__ == '__main__':
    main()
