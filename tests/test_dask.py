"""Many fits and big exports on Dask: a real ``distributed.LocalCluster`` of two
worker processes on loopback, started by the tests and closed after them."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

distributed = pytest.importorskip("distributed", reason='needs pip install "gan-augment[distributed]"')
import dask  # noqa: E402
import joblib  # noqa: E402
from distributed import Client, LocalCluster, get_task_stream  # noqa: E402
from imblearn.pipeline import make_pipeline  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate  # noqa: E402

from gan_augment import GANOversampler  # noqa: E402
from gan_augment.device import auto_gpu  # noqa: E402
from gan_augment.partitions import partition_counts, write_parquet  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, scheduler_port=0,
    )
    with Client(cluster, timeout=60) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def data():
    return make_classification(
        n_samples=300, n_features=5, n_informative=3, weights=[0.85], random_state=0
    )


def _threads(estimator, X, y):
    """A 'score': the torch threads of the process that scores (a worker)."""
    return float(torch.get_num_threads())


def _pipeline():
    return make_pipeline(
        GANOversampler(epochs=2, batch_size=50, pac=10, random_state=0),
        LogisticRegression(max_iter=500),
    )


def test_grid_search_on_dask_matches_one_process(client, data):
    X, y = data
    grid = {"ganoversampler__interpolation": [0.0, 0.5]}
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    scoring = {"bacc": "balanced_accuracy", "threads": _threads}
    here = GridSearchCV(_pipeline(), grid, cv=cv, scoring=scoring, refit="bacc").fit(X, y)
    with get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        there = GridSearchCV(
            _pipeline(), grid, cv=cv, scoring=scoring, refit="bacc", n_jobs=-1
        ).fit(X, y)
    # Each fit on one thread, on both sides: the same scores.
    np.testing.assert_array_equal(
        here.cv_results_["mean_test_bacc"], there.cv_results_["mean_test_bacc"]
    )
    # The fits ran on both workers, each with one torch thread.
    assert len({task["worker"] for task in stream.data}) == 2
    assert set(there.cv_results_["mean_test_threads"]) == {1.0}


def test_cross_validate_on_dask(client, data):
    X, y = data
    with joblib.parallel_backend("dask"):
        scores = cross_validate(
            _pipeline(), X, y, cv=StratifiedKFold(3), scoring="balanced_accuracy",
            n_jobs=-1, return_estimator=True,
        )
    assert len(scores["test_score"]) == 3
    assert all(0.5 <= s <= 1.0 for s in scores["test_score"])
    sampler = scores["estimator"][0][0]
    assert sampler.n_epochs_ == 2 and sampler.device_ == torch.device("cpu")


def test_estimators_pickle_small():
    assert len(pickle.dumps(GANOversampler())) < 4_000


# -- partitioned generation ---------------------------------------------------------


@pytest.fixture(scope="module")
def model(data):
    X, y = data
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["colour"] = pd.Categorical(np.where(X[:, 0] > 0, "red", "blue"))
    return GANOversampler(epochs=2, random_state=0).fit(frame, y)


def test_rows_do_not_depend_on_the_workers(client, model):
    frame = model.to_dask(20_000, npartitions=6)
    assert frame.npartitions == 6 and frame.known_divisions
    alone = frame.compute(scheduler="synchronous")
    on_cluster = client.compute(frame).result()
    pd.testing.assert_frame_equal(alone, on_cluster)
    assert alone.index.equals(pd.RangeIndex(20_000))
    assert list(alone.columns) == [*model.feature_names_in_, "target"]
    assert alone["colour"].dtype == "category"
    # The original class shares, split evenly over the partitions.
    counts = alone["target"].value_counts().sort_index().to_numpy()
    assert counts.sum() == 20_000 and counts[0] > counts[1]
    assert partition_counts(counts, 6).sum(axis=0).tolist() == counts.tolist()


def test_balanced_distribution_and_parquet(client, model, tmp_path):
    frame = model.to_dask(1_000, npartitions=3, class_distribution="balanced")
    path = tmp_path / "synthetic"
    frame.to_parquet(path)
    back = pd.read_parquet(path)
    assert len(back) == 1_000
    assert back["target"].value_counts().to_dict() == {0: 500, 1: 500}


def _die_once(partition, marker):
    """Kill this worker process the first time partition 1 passes here."""
    if partition.index[0] == 1_000 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return partition


def test_a_worker_lost_in_a_partition_is_replaced(client, model, tmp_path):
    frame = model.to_dask(3_000, npartitions=3)
    expected = frame.compute(scheduler="synchronous")
    marker = str(tmp_path / "died")
    survived = frame.map_partitions(_die_once, marker, meta=frame._meta)
    got = client.compute(survived).result(timeout=120)
    assert os.path.exists(marker)  # a worker did die
    pd.testing.assert_frame_equal(got, expected)
    client.wait_for_workers(2, timeout=60)


def _fail_always(partition):
    if partition.index[0] == 1_000:
        raise OSError("disk full")
    return partition


def test_a_failing_partition_fails_the_write(client, model, tmp_path):
    frame = model.to_dask(3_000, npartitions=3).map_partitions(_fail_always)
    with pytest.raises(OSError, match="disk full"):
        write_parquet(frame, tmp_path / "synthetic")
    # Neither the target nor the partial files of the partitions that were done.
    assert list(tmp_path.iterdir()) == []
    complete = write_parquet(model.to_dask(3_000, npartitions=3), tmp_path / "synthetic")
    assert len(pd.read_parquet(complete)) == 3_000
    with pytest.raises(FileExistsError, match="it exists"):
        write_parquet(model.to_dask(10, npartitions=1), complete)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(n_samples=10, npartitions=11), "npartitions=11 is more than the 10 rows"),
        (dict(n_samples=10, npartitions=0), "npartitions must be a positive integer"),
        (dict(n_samples=-1), "n_samples must be a non-negative integer"),
        (dict(n_samples=10, class_distribution={"x": 1}), "class_distribution names"),
    ],
)
def test_bad_partitioning_is_refused(model, kwargs, words):
    with pytest.raises(ValueError, match=words):
        model.to_dask(**kwargs)


def test_image_models_are_refused():
    rng = np.random.default_rng(0)
    images = rng.random((40, 8, 8)).astype(np.float32)
    labels = np.array([0] * 30 + [1] * 10)
    sampler = GANOversampler(generator="conditional", epochs=1, random_state=0).fit(images, labels)
    with pytest.raises(ValueError, match="to_dask makes tables"):
        sampler.to_dask(10)


# -- one GPU per fit -------------------------------------------------------------------


def test_auto_device_spreads_fits_over_gpus(monkeypatch):
    free = {0: 10, 1: 30, 2: 30}
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda i: (free[i], 100))
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert auto_gpu() == torch.device("cuda", 1)
    monkeypatch.setenv("LOCAL_RANK", "2")
    assert auto_gpu() == torch.device("cuda", 2)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert auto_gpu() == torch.device("cuda")
