"""Dataset generators and loaders behind one catalog (installed as `tuidl.datasets`).

    from tuidl.datasets import load_dataset, DATASETS, Dataset
    ds = load_dataset("spiral", classes=3, noise=0.1, seed=0)
    ds.x_train.shape, ds.input_shape, ds.task, ds.num_outputs

Names and their `[data]` keys: `DATASETS` (what `tuidl data list` prints). Tasks and label
layouts: `Dataset`. Normalization per layout: `tuidl.datasets.normalize`.
"""

from .catalog import DATASETS, DatasetInfo, load_dataset, lookup, presence
from .dataset import Dataset
from .normalize import METHODS as NORMALIZATIONS
from .normalize import Normalizer

__all__ = [
    "DATASETS",
    "NORMALIZATIONS",
    "Dataset",
    "DatasetInfo",
    "Normalizer",
    "load_dataset",
    "lookup",
    "presence",
]
