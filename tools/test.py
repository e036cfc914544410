"""Test (and evaluate) a detector (mmdet's tools/test.py with ctkd_det registered):
``ctkd_det.apis.test``. ``python tools/test.py --help`` lists the options."""
from ctkd_det.apis.test import main

if __name__ == '__main__':
    main()
