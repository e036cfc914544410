"""Train a detector (mmdet's tools/train.py with ctkd_det registered):
``ctkd_det.apis.train``. ``python tools/train.py --help`` lists the options."""
from ctkd_det.apis.train import main

if __name__ == '__main__':
    main()
