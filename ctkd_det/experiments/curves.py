"""The KD temperature, the curriculum's λ and loss_kd of training runs, drawn
from their mmengine JSON scalar logs into one PNG of three panels against the
training iteration.

* temperature: the logged mean ``kd_temp`` as a line and, where the run's
  temperatures differ across RoIs (``kd_temp_p10 != kd_temp_p90``, i.e. CTKD
  instance-wise), the 10-90 % band between ``kd_temp_p10`` and ``kd_temp_p90``;
* λ (``lambda``, logged by CurriculumTemperatureHook; fixed-T runs have none);
* ``loss_kd``.

Logged values are what mmengine's LogProcessor wrote: means over its window
(``log_processor.window_size``) at every ``LoggerHook`` interval.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional

from ctkd_det.apis.work_dir import scalars_path

PANELS = (
    ('temperature', 'KD temperature T', 'kd_temp'),
    ('lambda', 'curriculum λ', 'lambda'),
    ('loss_kd', 'loss_kd', 'loss_kd'),
)
BAND_TOL = 1e-6  # p90 - p10 above this (anywhere in the run): draw the band


def find_scalars(path: str) -> str:
    """The ``scalars.json`` for a work dir (its newest ``<timestamp>/vis_data``)
    or the file itself; FileNotFoundError naming the path when there is none."""
    if osp.isfile(path):
        return path
    if osp.isdir(path):
        newest = scalars_path(path)
        if newest is not None:
            return newest
        # a vis_data dir or a timestamp dir given directly
        for sub in ('scalars.json', osp.join('vis_data', 'scalars.json')):
            if osp.isfile(osp.join(path, sub)):
                return osp.join(path, sub)
        raise FileNotFoundError(
            f'no mmengine scalar log under {path}: expected '
            f'{path}/<timestamp>/vis_data/scalars.json (was the run trained '
            'with vis_backends=[dict(type="LocalVisBackend")]?)')
    raise FileNotFoundError(f'{path}: no such work dir or scalars.json')


def load_training_records(path: str) -> List[dict]:
    """Training records (those with an ``iter``) of a run's scalar log, by iter."""
    scalars = find_scalars(path)
    records = []
    with open(scalars) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                # a run killed mid-write leaves a partial last line
                raise ValueError(f'{scalars}:{n}: not JSON ({e})') from e
    train = [r for r in records if 'iter' in r]
    if not train:
        raise ValueError(f'{scalars} holds no training records (no "iter")')
    return sorted(train, key=lambda r: r['iter'])


def _series(records: List[dict], key: str):
    pts = [(r['iter'], r[key]) for r in records
           if isinstance(r.get(key), (int, float))]
    return [p[0] for p in pts], [float(p[1]) for p in pts]


def default_label(path: str) -> str:
    """A run's label: the last two parts of its work dir (``method/seed0``)."""
    path = osp.normpath(path)
    if osp.basename(path) == 'scalars.json':  # <work_dir>/<stamp>/vis_data/...
        path = osp.dirname(osp.dirname(osp.dirname(path)))
    parts = path.split(os.sep)
    return '/'.join(parts[-2:]) if len(parts) > 1 else parts[-1]


def plot_curves(runs: Dict[str, str], out_path: str,
                title: Optional[str] = None, dpi: int = 100) -> dict:
    """Draw the temperature / λ / loss_kd panels of ``runs`` (label -> work dir
    or scalars.json) into the PNG ``out_path``.

    Returns a summary: ``{'out': out_path, 'runs': {label: {'scalars': path,
    'points': n, 'temperature': bool, 'band': bool, 'lambda': bool,
    'loss_kd': bool}}, 'panels': {panel: [labels drawn]}, 'size_px': (w, h)}``.
    Raises FileNotFoundError / ValueError when a run has no scalar log or no
    training records, and ValueError when no run logged any plotted key.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    if not runs:
        raise ValueError('plot_curves: no runs given')
    data = {label: load_training_records(path) for label, path in runs.items()}
    summary = dict(out=out_path, runs={}, panels={p[0]: [] for p in PANELS})
    for label, recs in data.items():
        summary['runs'][label] = dict(
            scalars=find_scalars(runs[label]), points=len(recs),
            **{panel: any(key in r for r in recs) for panel, _, key in PANELS},
            band=False)
    if not any(info[p[0]] for info in summary['runs'].values()
               for p in PANELS):
        raise ValueError(
            'plot_curves: none of the runs logged kd_temp, lambda or loss_kd '
            f'({", ".join(runs)}): were they distillation runs?')

    fig, axes = plt.subplots(1, len(PANELS), figsize=(5 * len(PANELS), 3.8),
                             squeeze=False)
    axes = axes[0]
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for i, (label, recs) in enumerate(data.items()):
        # past the colour cycle, dashed lines: no two runs drawn alike
        color = colors[i % len(colors)]
        style = ('-', '--', ':')[min(i // len(colors), 2)]
        for ax, (panel, _, key) in zip(axes, PANELS):
            xs, ys = _series(recs, key)
            if not xs:
                continue
            ax.plot(xs, ys, color=color, ls=style, label=label, lw=1.5)
            summary['panels'][panel].append(label)
            if panel != 'temperature':
                continue
            bx, lo = _series(recs, 'kd_temp_p10')
            bx2, hi = _series(recs, 'kd_temp_p90')
            if bx and bx == bx2 and any(h - l > BAND_TOL
                                        for l, h in zip(lo, hi)):
                ax.fill_between(bx, lo, hi, color=color, alpha=0.2, lw=0,
                                label=f'{label} (10-90 %)')
                summary['runs'][label]['band'] = True
    for ax, (panel, ylabel, key) in zip(axes, PANELS):
        ax.set_xlabel('iteration')
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if summary['panels'][panel]:
            ax.legend(fontsize=8)
        else:
            why = {'lambda': 'no λ logged\n(fixed-T runs have no curriculum)'} \
                .get(panel, f'no {key} logged')
            ax.text(0.5, 0.5, why, ha='center', va='center',
                    transform=ax.transAxes, color='gray')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_path)), exist_ok=True)
    fig.savefig(out_path, dpi=dpi, format='png')
    w, h = fig.get_size_inches() * dpi
    summary['size_px'] = (int(round(w)), int(round(h)))
    plt.close(fig)
    return summary
