"""Data-parallel training with torch.distributed: two real processes (torchrun, gloo).

The processes are started by the tests on this machine (loopback, ``torchrun
--standalone``) and bounded in time. A two-process fit cannot reproduce a
one-process fit row for row: each process draws its share of every batch from
its own shard with its own random stream. What is tested instead: both
processes end with the same generator (weights, history, generated rows,
``fit_resample``'s output), and the model learns the data as well as a
one-process fit with the same total batch (per-column Kolmogorov-Smirnov
distance to the real rows within 0.1 of it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import ks_2samp

from gan_augment import GANOversampler
from gan_augment.options import TABULAR, resolve
from gan_augment.parallel import ProcessGroup, current, is_secondary, shard_rows
from gan_augment.schema import TableSchema
from gan_augment.tabular.domain import TABLES

SCRIPT = Path(__file__).parent / "scripts" / "distributed_fit.py"
sys.path.insert(0, str(SCRIPT.parent))
from distributed_fit import PARAMS, table  # noqa: E402


def _torchrun(out: Path, case: str) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GAN_AUGMENT_DIST_TIMEOUT": "60"}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        "--nproc-per-node=2", str(SCRIPT), str(out), case,
    ]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    errors = "".join(p.read_text() for p in out.glob("rank*.err"))
    assert run.returncode == 0, errors or run.stderr[-3000:]


@pytest.fixture(scope="module")
def two_process_fit(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    _torchrun(out, "fit")
    return out, [dict(np.load(out / f"rank{r}.npz")) for r in range(2)]


def test_every_process_ends_with_the_same_model(two_process_fit):
    _, (rank0, rank1) = two_process_fit
    for key in ("weights", "history", "sample", "X_res"):
        np.testing.assert_array_equal(rank0[key], rank1[key], err_msg=key)
    assert len(rank0["history"]) == PARAMS["epochs"]


def test_rank_zero_saves_the_model(two_process_fit):
    out, (rank0, _) = two_process_fit
    loaded = GANOversampler.load(out / "model.gan", device="cpu")
    np.testing.assert_array_equal(loaded.sample(400, y=1), rank0["sample"])


def test_two_processes_learn_as_well_as_one(two_process_fit):
    _, (rank0, _) = two_process_fit
    X, y = table()
    one = GANOversampler(**PARAMS).fit(X, y).sample(400, y=1)
    real = X[y == 1]

    def distance(rows):
        return np.mean([ks_2samp(rows[:, j], real[:, j]).statistic for j in range(X.shape[1])])

    assert distance(rank0["sample"]) <= distance(one) + 0.1
    # Both learned something: far from the other class's rows.
    assert distance(rank0["sample"]) < np.mean(
        [ks_2samp(X[y == 0][:, j], real[:, j]).statistic for j in range(X.shape[1])]
    ) + 0.1


def test_a_resumed_two_process_fit_is_the_uninterrupted_one(tmp_path):
    _torchrun(tmp_path, "resume")
    ranks = [np.load(tmp_path / f"rank{r}.resume.npz") for r in range(2)]
    for rank in ranks:
        np.testing.assert_array_equal(rank["whole"], rank["resumed"])
        np.testing.assert_array_equal(rank["whole_sample"], rank["resumed_sample"])
    np.testing.assert_array_equal(ranks[0]["whole"], ranks[1]["whole"])
    # Rank 0 alone wrote the checkpoint, with both ranks' streams.
    assert sorted(p.name for p in (tmp_path / "whole").iterdir()) == ["checkpoint.pt"]


def test_processes_given_different_input_fail_on_every_rank(tmp_path):
    _torchrun(tmp_path, "mismatch")
    expected = {
        "columns": "columns: rank 0 has columns=(3,) of float64 against (2,)",
        "parameters": "learning_rate=0.0002 against 0.001",
        "rows": "different rows (X and y)",
    }
    for case, words in expected.items():
        for rank in range(2):
            message = (tmp_path / f"{case}.rank{rank}.txt").read_text()
            assert message.startswith("ValueError: The processes of the group"), message
            assert words in message, message


# -- in one process --------------------------------------------------------------


def test_shards_cover_every_row_once_and_every_class():
    y = np.array([0] * 101 + [1] * 7 + [2] * 2)
    parts = [shard_rows(y, ProcessGroup(r, 3, "gloo"), 0) for r in range(3)]
    # Classes of at least world_size rows are split; the 2-row class is held by all.
    together = np.concatenate(parts)
    assert sorted(together[y[together] != 2].tolist()) == list(range(108))
    for part in parts:
        assert set(y[part]) == {0, 1, 2}
        assert (y[part] == 2).sum() == 2
    # 101 -> 34/34/33 and 7 -> 3/2/2 rows, plus the 2 rows every part holds.
    assert sorted(map(len, parts)) == [37, 38, 39]


def test_batch_must_split_into_packs_per_process():
    group = ProcessGroup(0, 2, "gloo")
    assert group.per_rank_batch(500, 10) == 250
    with pytest.raises(ValueError, match="batch_size=510 cannot be shared by 2 processes"):
        group.per_rank_batch(510, 10)


@pytest.mark.parametrize(
    "params, words",
    [
        (dict(dp_epsilon=1.0), "dp_epsilon cannot be combined with data-parallel"),
        (dict(generator="anchored"), "generator='anchored' cannot be combined"),
        (dict(classifier_weight=0.5), "classifier_weight=0.5 cannot be combined"),
        (dict(batch_size=510, pac=10), "batch_size=510 cannot be shared by 2 processes"),
    ],
)
def test_options_data_parallel_training_cannot_honour_are_refused(params, words):
    X, _ = table()
    # The default classifier_weight ("auto") is 0 in a process group, so only
    # the batch is refused in the last case.
    options = resolve(GANOversampler(**params).get_params(), TABULAR, n_rows=len(X),
                      parallel=ProcessGroup(0, 2, "gloo"))
    with pytest.raises(ValueError, match=words):
        TABLES.check_options(options, TableSchema.from_data(X, "auto"), len(X))


def test_images_are_refused_in_a_process_group():
    from gan_augment.images.domain import IMAGES
    from gan_augment.options import IMAGE

    images = np.zeros((20, 8, 8), dtype=np.float32)
    options = resolve(GANOversampler().get_params(), IMAGE, n_rows=20,
                      parallel=ProcessGroup(1, 2, "gloo"))
    with pytest.raises(ValueError, match="An image model cannot be combined with data-parallel"):
        IMAGES.check_options(options, None, len(images))


def test_without_a_process_group_one_process_trains():
    assert current("auto") is None and current(False) is None
    assert not is_secondary("auto")
    with pytest.raises(ValueError, match="distributed=True, but no process group"):
        current(True)
    X, y = table()
    with pytest.raises(ValueError, match="distributed=True, but no process group"):
        GANOversampler(distributed=True, epochs=1).fit(X, y)
