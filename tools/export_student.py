"""Export the student of a distillation checkpoint as a plain MMDetection model.

    python tools/export_student.py CKPT OUT_DIR [--config CFG] [--student-type T]

writes ``OUT_DIR/student.pth`` (the student's weights only, plain ``meta``) and
``OUT_DIR/student_config.py`` (a plain mmdet config without ctkd_det's models,
hooks, datasets and ``custom_imports``; the model is the student's mmdet class,
inferred from its heads unless ``--student-type`` names it); the library is
:mod:`ctkd_det.apis.export`. Both files are checked before the tool exits: the
config must not mention any ctkd_det module, and the weights must load strictly
into the model it builds. Then, without ctkd_det installed::

    python mmdet/tools/test.py OUT_DIR/student_config.py OUT_DIR/student.pth
    DetInferencer(model='OUT_DIR/student_config.py', weights='OUT_DIR/student.pth')
"""
import argparse

from ctkd_det.apis.export import export


def parse_args():
    parser = argparse.ArgumentParser(
        description='Export the student of a ctkd_det distillation checkpoint '
        'as a plain MMDetection model (weights + config)')
    parser.add_argument('checkpoint', help='distillation checkpoint (.pth)')
    parser.add_argument('out_dir', help='writes student.pth and student_config.py')
    parser.add_argument('--config', help='training config; default: the one '
                        'stored in the checkpoint (meta["cfg"])')
    parser.add_argument('--student-type', default=None,
                        help='mmdet model type of the student (default: '
                        'inferred from its heads: roi_head CascadeRoIHead -> '
                        'CascadeRCNN, StandardRoIHead -> FasterRCNN or, with '
                        'a mask_head, MaskRCNN; bbox_head RetinaHead / '
                        'FCOSHead / ATSSHead / GFLHead -> RetinaNet / FCOS / '
                        'ATSS / GFL; needed for other heads)')
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        info = export(args.checkpoint, args.out_dir, args.config,
                      args.student_type)
    except ValueError as e:  # e.g. a student type that cannot be inferred
        raise SystemExit(f'export_student: {e}')
    print(f'student weights: {info["checkpoint"]} ({info["num_tensors"]} '
          f'tensors; dropped {info["dropped"]})')
    print(f'student config:  {info["config"]} ({info["student_type"]})')


if __name__ == '__main__':
    main()
