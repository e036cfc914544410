# Synthetic glyphs detection set (ctkd_det.datasets.glyphs): COCO-format, 29
# classes in families of look-alike characters, square images of `img_size` px,
# splits train / dev (tuning) / val (tables). Generate first:
#   python tools/make_glyphs.py --out data/glyphs   # 256 / 64 / 128 images, 192 px
# Class names and palette come from GlyphsDataset.METAINFO (one definition, in the
# package); `import ctkd_det` (the runtime's custom_imports) registers it.
dataset_type = 'GlyphsDataset'
data_root = 'data/glyphs/'
img_size = 192
backend_args = None

# No RandomFlip: mirrored glyphs are other classes (b/d, p/q) or no class at all.
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(img_size, img_size), keep_ratio=True),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(img_size, img_size), keep_ratio=True),
    # annotations are loaded after Resize so the gt boxes stay in original scale
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]

# 0 workers, as for shapes: data loading is a small share of a CPU iteration.
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=train_pipeline,
        backend_args=backend_args))
# Evaluates on `val`; for tuning, point the loader and the evaluator at `dev`
# (ctkd_det.datasets.glyphs.set_eval_split(cfg, 'dev')).
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/val.json',
    metric='bbox',
    format_only=False,
    backend_args=backend_args)
test_evaluator = val_evaluator
