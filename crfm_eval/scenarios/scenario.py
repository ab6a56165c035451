"""The Scenario controller: where instances come from."""

from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from crfm_eval.specs import MetricSpec
from crfm_eval.states import Instance

TRAIN_SPLIT = "train"
VALID_SPLIT = "valid"
TEST_SPLIT = "test"


class Scenario(ABC):
    """Produces the instances of one data set, from local files or downloads under `data_dir`."""

    metric_specs: ClassVar[tuple[MetricSpec, ...]] = ()
    """Metric sets the data set needs whatever the method (e.g. BBQ's bias scores), added to the method's."""

    @abstractmethod
    def get_instances(self, data_dir: Path) -> Iterable[Instance]:
        """All instances of every split, in a deterministic order.

        A list, or for a data set too large to hold in memory an object that reads its data again
        each time it is iterated: adaptation goes over the instances up to three times.
        """
