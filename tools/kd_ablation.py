"""Why does KD hurt the shapes student? KD-weight ablation on a *dev* split
(ctkd_det.experiments.ablation; every variant is a config file under
configs/shapes/ablation/<scratch|pretrained>/).

The results table (tools/experiment.py) reports on the shapes val split; tuning
anything on it would bias that table. This tool evaluates on a separate dev split
(the same generator, seed 1: images the table never sees), with the same training
images and the table's cached teacher, and varies one thing at a time:

* ``none``: the student alone (the reference);
* ``kd-t1`` / ``kd-t4``: vanilla KD, T = 1 / 4, KD weight 1 (the table's
  setting; at T = 1 the term is ~10x smaller than at T = 4);
* ``kd-t4-w0.25`` / ``kd-t4-w0.0625``: the same with the KD term down-weighted
  (1/16 = 1/T² turns the T²-scaled term back into a plain KL at T = 4);
* ``ctkd-global`` / ``ctkd-global-tmax4``: CTKD global as in the table, and with
  its temperature bounded to [1, 4] instead of [1, 21] (θ₀ = 1 then starts it
  at T = 3.2 instead of 15.6);
* ``ctkd-global-w0.0625``: CTKD global with the KD weight 1/16;
* ``kd-t4-w0``: the KD detector with the KD weight 0: the teacher runs, its
  term is multiplied by 0; a control that must train like ``none``;
* ``kd-t4-head``: KD at T = 4 whose gradient stays in the RoI bbox head
  (``HeadKDTwoStageDetector``: KD logits from RoI features detached from the
  trunk): does the KD term hurt box regression through the trunk?
* ``none-sepfc`` / ``kd-t4-sepfc``: the student alone and KD at T = 4 with a
  RoI box head whose classification and regression branches share no layer
  (2 FCs each, ``ConvFCBBoxHead``) instead of mmdet's 2 shared FCs: does the KD
  term hurt box regression through the shared FCs? (``tools/box_quality.py``
  measures the regression on the runs.)
* ``kd-t4-sepfc-head``: both: the KD gradient reaches only the classification
  branch's FCs and classifier, no parameter that box regression uses.

Hypothesis under test: the T²-scaled KD term (≈ 17–29 at the start, ≈ 3 after 12
epochs, against ≈ 0.3 for the student's own classification loss) dominates the
gradient of the shared trunk, so RPN and box regression learn more slowly in a
192-iteration schedule. If down-weighting recovers the student's mAP, the KD weight
is the knob; if not, it is something else.

    python tools/kd_ablation.py --jobs 2          # after tools/experiment.py's teacher
    python tools/kd_ablation.py --jobs 2 --pretrain-epochs 12 --seeds 0 1

Writes ``docs/ablation_<scratch|pretrained>.{json,md}``; every run is cached
like the table's. ``--pretrain-epochs N`` starts the students' backbones from
tools/experiment.py's pretraining run (trained here if it is not there yet).
"""
import argparse
import sys

from ctkd_det.experiments import ablation


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--teacher-ckpt',
                   default='work_dirs/experiment/teacher/epoch_20.pth')
    p.add_argument('--variants', nargs='+', default=list(ablation.VARIANTS),
                   choices=list(ablation.VARIANTS))
    p.add_argument('--seeds', nargs='+', type=int, default=[0])
    p.add_argument('--runs', nargs='+', metavar='VARIANT/SEED',
                   help='exactly these runs (e.g. none/0 none/1 kd-t4/0) '
                   'instead of every variant x seed')
    p.add_argument('--epochs', type=int, default=12)
    p.add_argument('--data-root', default='data/shapes')
    p.add_argument('--dev-root', default='data/shapes_dev')
    p.add_argument('--jobs', type=int, default=1)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--pretrain-epochs', type=int, default=0,
                   help='students\' backbone from tools/experiment.py\'s '
                   'pretraining run of this many epochs (0: from scratch)')
    p.add_argument('--experiment-work-dir', default='work_dirs/experiment',
                   help='where tools/experiment.py keeps (or will find) the '
                   'pretraining run')
    p.add_argument('--work-dir', help='default work_dirs/ablation_<init>')
    p.add_argument('--out', default='docs')
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        ablation.resolve(args)
    except ValueError as e:
        p.error(str(e))
    except FileNotFoundError as e:
        raise SystemExit(str(e))
    result = ablation.run(args, log=lambda m: print(m, flush=True))
    print('\n'.join(result['lines']))


if __name__ == '__main__':
    main()
