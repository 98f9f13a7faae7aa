"""Fine-tuning and evaluation: training loops, checkpoints and evaluation metrics.

The modules build on each other in one direction (``make lint`` checks it): ``metrics`` and
``checkpoint`` -> ``models`` (building, loading, hashing) -> ``predict`` (text to token ids,
classifier probabilities) -> ``ensemble`` -> ``evaluate`` and ``finetune``. They need
``pip install 'zslab[train]'``; a bare install says so on import.
"""

from zslab.extras import require

require("train", "zslab.train")
