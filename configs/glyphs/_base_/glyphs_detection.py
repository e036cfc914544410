# Synthetic glyphs detection set (ctkd_det.datasets.glyphs): COCO-format, 29
# classes in families of look-alike characters, square images of `img_size` px,
# splits train / dev (tuning) / val (tables). Generate first:
#   python tools/make_glyphs.py --out data/glyphs   # 256 / 64 / 128 images, 192 px
# Class names and palette come from GlyphsDataset.METAINFO (one definition, in the
# package); `import ctkd_det` (the runtime's custom_imports) registers it.
#
# Read as the shapes set is (the same loaders, 0 workers, and COCO evaluator):
# another dataset type, root and image size, and no RandomFlip.
_base_ = '../../shapes/_base_/shapes_detection.py'

dataset_type = 'GlyphsDataset'
data_root = 'data/glyphs/'
img_size = 192

# The shapes pipelines at `img_size`, without RandomFlip: mirrored glyphs are
# other classes (b/d, p/q) or no class at all.
train_pipeline = [
    dict(t, scale=(img_size, img_size)) if t.type == 'Resize' else t
    for t in _base_.train_pipeline if t.type != 'RandomFlip'
]
test_pipeline = [
    dict(t, scale=(img_size, img_size)) if t.type == 'Resize' else t
    for t in _base_.test_pipeline
]

train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root,
                 pipeline=train_pipeline))
# Evaluates on `val`; for tuning, point the loader and the evaluator at `dev`
# (ctkd_det.datasets.glyphs.set_eval_split(cfg, 'dev')).
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
