#!/usr/bin/env bash
# The README's demo: set up .venv/ (tools/setup_env.sh), then the
# main job on embedded data: an SE-ResNet-50 Faster R-CNN trained with
# tools/dist_train.sh (2 processes; CPU/gloo without GPUs) on COCO-format
# shapes, evaluated with pycocotools before and after training.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup_env.sh
PY=.venv/bin/python
CONFIG=${CONFIG:-configs/demo/faster_rcnn_se_r50_2x_demo.py}
WORK=${WORK:-work_dirs/demo}
PROCS=${PROCS:-2}
start=$(date +%s)

"$PY" tools/misc/make_demo_data.py data/demo
mkdir -p "$WORK"
echo "== bbox mAP of the untrained model"
"$PY" tools/misc/init_checkpoint.py "$CONFIG" "$WORK/untrained.pth"
"$PY" tools/test.py "$CONFIG" "$WORK/untrained.pth" \
  --work-dir "$WORK/untrained" --out-metrics "$WORK/untrained.json"
echo "== training: tools/dist_train.sh $CONFIG $PROCS"
bash tools/dist_train.sh "$CONFIG" "$PROCS" --work-dir "$WORK/train"
echo "== bbox mAP of the trained model"
"$PY" tools/test.py "$CONFIG" "$(cat "$WORK/train/last_checkpoint")" \
  --work-dir "$WORK/trained" --out-metrics "$WORK/trained.json"

"$PY" - "$WORK" "$start" <<'PY'
import json, sys, time
work, start = sys.argv[1], float(sys.argv[2])
before, after = (json.load(open(f'{work}/{n}.json'))['coco/bbox_mAP']
                 for n in ('untrained', 'trained'))
print(f'demo: bbox mAP {before:.3f} untrained -> {after:.3f} trained '
      f'(pycocotools, val2017 of the embedded data); '
      f'{time.time() - start:.0f}s after set-up')

# The same figures as a picture: the training loss and the two mAPs.
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
from se_plugin.analysis.logs import load_curves
loss = load_curves(f'{work}/train', ['loss'])['loss']
fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
left.plot(loss.steps, loss.values)
left.set(xlabel='iteration', title='training loss')
right.bar(['untrained', 'trained'], [before, after], color=['grey', 'C0'])
right.set(ylim=(0, 1), title='bbox mAP (val2017)')
for x, y in enumerate((before, after)):
    right.text(x, y + 0.02, f'{y:.3f}', ha='center')
fig.tight_layout()
fig.savefig(f'{work}/demo.png', dpi=90)
print(f'demo: loss curve and mAP in {work}/demo.png')
PY
