"""tinygrad_edu.data: loaders, splits, folds, scalers, bundled and synthetic data, IDX files."""

import gzip
import hashlib
import struct
import warnings
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.data import (DataLoader, Dataset, KFold, MinMaxScaler, NotFittedError,
                               StandardScaler, StratifiedKFold, Subset, TensorDataset,
                               cross_validate, default_collate, load_digits, load_mnist,
                               make_linear_regression, make_moons, make_quadratic,
                               make_spirals, numpy_collate, random_split, read_idx,
                               train_val_test_split)
from tinygrad_edu.data.split import split_sizes, stratified_sizes
from tinygrad_edu.tensor import Tensor

SMALL = settings(max_examples=30, deadline=None)


def _ids(loader):
    """The first field of every batch, as numpy, for loaders over TensorDataset(arange)."""
    return [b[0].numpy() if isinstance(b[0], Tensor) else b[0] for b in loader]


# ---------------------------------------------------------------- DataLoader


def test_batches_in_order_with_short_last_batch():
    ds = TensorDataset(np.arange(10), np.arange(10) * 2.0)
    loader = DataLoader(ds, batch_size=3)
    batches = list(loader)
    assert len(loader) == len(batches) == 4
    assert [len(b[0]) for b in batches] == [3, 3, 3, 1]
    np.testing.assert_array_equal(np.concatenate(_ids(loader)), np.arange(10))
    np.testing.assert_array_equal(batches[1][1].numpy(), [6.0, 8.0, 10.0])


def test_drop_last_drops_only_the_short_batch():
    loader = DataLoader(TensorDataset(np.arange(10)), batch_size=3, drop_last=True)
    assert len(loader) == 3
    assert [len(b) for b in _ids(loader)] == [3, 3, 3]
    exact = DataLoader(TensorDataset(np.arange(9)), batch_size=3, drop_last=True)
    assert len(exact) == 3 and len(list(exact)) == 3


@SMALL
@given(n=st.integers(1, 60), bs=st.integers(1, 25), drop_last=st.booleans(),
       shuffle=st.booleans())
def test_every_sample_once_per_epoch(n, bs, drop_last, shuffle):
    loader = DataLoader(TensorDataset(np.arange(n)), batch_size=bs, shuffle=shuffle,
                        drop_last=drop_last, seed=0)
    ids = _ids(loader)
    assert len(ids) == len(loader)
    assert all(len(b) == bs for b in ids[:-1])  # only the last batch may be short
    assert all(1 <= len(b) <= bs for b in ids)
    seen = np.concatenate(ids) if ids else np.array([], int)
    assert len(np.unique(seen)) == len(seen)  # no sample twice
    assert len(seen) == (n - n % bs if drop_last else n)


def test_shuffle_is_reproducible_and_differs_between_epochs():
    def epochs(loader, k=3):
        return [np.concatenate(_ids(loader)) for _ in range(k)]

    a = epochs(DataLoader(TensorDataset(np.arange(50)), batch_size=8, shuffle=True, seed=7))
    b = epochs(DataLoader(TensorDataset(np.arange(50)), batch_size=8, shuffle=True, seed=7))
    for ea, eb in zip(a, b):
        np.testing.assert_array_equal(ea, eb)
        np.testing.assert_array_equal(np.sort(ea), np.arange(50))
    assert not np.array_equal(a[0], a[1]) and not np.array_equal(a[1], a[2])
    assert not np.array_equal(a[0], np.arange(50))
    c = epochs(DataLoader(TensorDataset(np.arange(50)), batch_size=8, shuffle=True, seed=8), 1)
    assert not np.array_equal(a[0], c[0])


def test_shuffle_uses_package_generator_and_explicit_generator():
    loader = DataLoader(TensorDataset(np.arange(40)), batch_size=40, shuffle=True)
    tg.manual_seed(123)
    first = _ids(loader)[0]
    tg.manual_seed(123)
    np.testing.assert_array_equal(_ids(loader)[0], first)
    g1 = DataLoader(TensorDataset(np.arange(40)), batch_size=40, shuffle=True,
                    generator=np.random.default_rng(5))
    np.testing.assert_array_equal(_ids(g1)[0], np.random.default_rng(5).permutation(40))


def test_fast_path_matches_per_sample_path():
    X = np.random.default_rng(0).standard_normal((23, 3)).astype(np.float32)
    y = np.arange(23, dtype=np.int32)
    base = TensorDataset(X, y)
    for ds in (base, Subset(base, np.arange(22, 2, -1)), Subset(Subset(base, [5, 1, 7, 3]),
                                                                [3, 0, 2])):
        fast = DataLoader(ds, batch_size=4, shuffle=True, seed=1)
        slow = DataLoader(ds, batch_size=4, shuffle=True, seed=1,
                          collate_fn=lambda b: default_collate(b))  # unknown fn: slow path
        assert len(list(fast)) == len(list(slow)) == len(fast)
        for (xf, yf), (xs, ys) in zip(fast, slow):
            assert xf.dtype == xs.dtype == np.float32 and yf.dtype == ys.dtype == np.int64
            np.testing.assert_array_equal(xf.numpy(), xs.numpy())
            np.testing.assert_array_equal(yf.numpy(), ys.numpy())


def test_batch_dtypes_and_no_aliasing():
    X64 = np.ones((6, 2))
    labels = np.arange(6, dtype=np.uint8)
    mask = np.arange(6) % 2 == 0
    xb, yb, mb = next(iter(DataLoader(TensorDataset(X64, labels, mask), batch_size=6)))
    assert (xb.dtype, yb.dtype, mb.dtype) == (np.float64, np.int64, np.bool_)
    xb.data[:] = 5.0
    assert X64.max() == 1.0  # a batch is a copy, not a view of the dataset
    xn, yn, _ = next(iter(DataLoader(TensorDataset(X64, labels, mask), batch_size=6,
                                     collate_fn=numpy_collate)))
    assert isinstance(xn, np.ndarray) and yn.dtype == np.int64


class _Records(Dataset):
    """A dataset of dict / tuple samples with mixed field types."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"image": np.full((2, 2), i, np.float32), "label": i, "weight": 0.5 * i,
                "name": f"s{i}", "pair": (np.int64(i), np.array([i, -i]))}


def test_collate_dicts_tuples_scalars_and_strings():
    batches = list(DataLoader(_Records(), batch_size=2))
    assert len(batches) == 3
    b = batches[0]
    assert b["image"].shape == (2, 2, 2) and b["image"].dtype == np.float32
    assert b["label"].dtype == np.int64 and b["label"].tolist() == [0, 1]
    assert b["weight"].dtype == np.float32  # Python floats -> float32, like Tensor(0.5)
    assert b["name"] == ["s0", "s1"]
    assert isinstance(b["pair"], tuple) and b["pair"][1].shape == (2, 2)
    assert batches[-1]["label"].tolist() == [4]


def test_collate_errors_are_clear():
    with pytest.raises(ValueError, match="same shape"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="keys"):
        default_collate([{"a": 1}, {"b": 2}])
    with pytest.raises(ValueError, match="fields"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="object"):
        default_collate([object(), object()])


@pytest.mark.parametrize("bs", [0, -1, 1.5, True, None])
def test_bad_batch_size(bs):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(TensorDataset(np.arange(4)), batch_size=bs)


def test_bad_datasets():
    with pytest.raises(ValueError, match="empty"):
        DataLoader(TensorDataset(np.zeros((0, 3))), batch_size=2)
    with pytest.raises(ValueError, match=r"lengths \[10, 9\]"):
        TensorDataset(np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(ValueError, match="not both"):
        DataLoader(TensorDataset(np.arange(4)), shuffle=True, seed=1,
                   generator=np.random.default_rng(1))
    with pytest.raises(IndexError, match=r"\[0, 4\)"):
        Subset(TensorDataset(np.arange(4)), [0, 4])


def test_tensor_dataset_accepts_tensors_and_indexes_rows():
    ds = TensorDataset(Tensor(np.arange(6.0)).reshape(3, 2), [0, 1, 2])
    x, y = ds[1]
    np.testing.assert_array_equal(x, [2.0, 3.0])
    assert y == 1 and len(ds) == 3


# ---------------------------------------------------------------- splits


def test_ratio_spellings_agree():
    X, y = np.arange(100), np.arange(100) % 3
    for ratios in [(0.7, 0.2, 0.1), (7, 2, 1), "7:2:1"]:
        parts = train_val_test_split(X, y, ratios=ratios, seed=0)
        assert [len(p[0]) for p in parts] == [70, 20, 10]
    (a, _), (b, _) = train_val_test_split(X, y, ratios=(0.8, 0.2), seed=0)
    assert (len(a), len(b)) == (80, 20)


@pytest.mark.parametrize("ratios,match", [((0.7, 0.2, 0.2), "sum to 1.1"), ((1.0,), "two"),
                                          ((0.7, -0.1, 0.4), "positive"), ("7:x", "7:2:1"),
                                          ((0.5, 0.5, 0), "positive"), (0.7, "sequence")])
def test_bad_ratios(ratios, match):
    with pytest.raises((ValueError, TypeError), match=match):
        train_val_test_split(np.arange(10), ratios=ratios)


@SMALL
@given(n=st.integers(3, 300), weights=st.lists(st.integers(1, 9), min_size=2, max_size=4),
       seed=st.integers(0, 10))
def test_split_sizes_and_partition(n, weights, seed):
    r = np.array(weights) / sum(weights)
    if n < len(weights) or split_sizes(n, r).min() < 1:
        with pytest.raises(ValueError, match="too few"):
            train_val_test_split(np.arange(n), ratios=tuple(weights), seed=seed)
        return
    parts = train_val_test_split(np.arange(n), ratios=tuple(weights), seed=seed)
    sizes = np.array([len(p) for p in parts])
    assert np.all(np.abs(sizes - n * r) < 1)
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(n))


@SMALL
@given(counts=st.lists(st.integers(0, 40), min_size=1, max_size=8),
       weights=st.lists(st.integers(1, 9), min_size=2, max_size=4), seed=st.integers(0, 5))
def test_stratified_rounding_keeps_every_bound(counts, weights, seed):
    r = np.array(weights) / sum(weights)
    order = np.random.default_rng(seed).permutation(len(counts))
    targets = split_sizes(sum(counts), r) if seed % 2 else None  # also steer to given sizes
    m = stratified_sizes(counts, r, order, targets)
    exact = np.outer(counts, r)
    assert np.all(np.abs(m - exact) < 1)  # each class's share within one sample
    np.testing.assert_array_equal(m.sum(axis=1), counts)
    assert np.all(np.abs(m.sum(axis=0) - sum(counts) * r) < 1)  # each part's size too


def test_stratified_split_keeps_class_proportions():
    y = np.repeat([0, 1, 2], [50, 30, 7])
    X = np.arange(len(y)) * 10
    parts = train_val_test_split(X, y, ratios=(0.7, 0.2, 0.1), stratify=True, seed=3)
    assert [len(p[0]) for p in parts] == [61, 17, 9]  # the same sizes as unstratified
    for (Xp, yp), frac in zip(parts, (0.7, 0.2, 0.1)):
        np.testing.assert_array_equal(yp, y[Xp // 10])  # rows stay paired
        counts = np.bincount(yp, minlength=3)
        assert np.all(np.abs(counts - frac * np.array([50, 30, 7])) < 1)
        assert np.any(np.diff(yp) < 0)  # shuffled: the classes are mixed, not in blocks
    again = train_val_test_split(X, y, ratios=(0.7, 0.2, 0.1), stratify=True, seed=3)
    np.testing.assert_array_equal(again[0][0], parts[0][0])


def test_split_without_shuffle_and_tensor_in_tensor_out():
    a, b = train_val_test_split(np.arange(10), ratios=(0.6, 0.4), shuffle=False)
    np.testing.assert_array_equal(a, np.arange(6))
    (Xa, ya), _ = train_val_test_split(Tensor(np.ones((10, 2))), np.arange(10),
                                       ratios=(0.5, 0.5), seed=0)
    assert isinstance(Xa, Tensor) and isinstance(ya, np.ndarray)


def test_split_bad_inputs():
    with pytest.raises(ValueError, match=r"same number of samples.*\(10,\).*\(9,\)"):
        train_val_test_split(np.arange(10), np.arange(9))
    with pytest.raises(ValueError, match="too few"):
        train_val_test_split(np.arange(2), ratios=(0.7, 0.2, 0.1))
    with pytest.raises(ValueError, match="needs y"):
        train_val_test_split(np.arange(10), stratify=True)


def test_random_split():
    ds = TensorDataset(np.arange(10))
    a, b = random_split(ds, [7, 3], seed=0)
    assert (len(a), len(b)) == (7, 3)
    ids = np.concatenate([a[:][0], b[:][0]])
    np.testing.assert_array_equal(np.sort(ids), np.arange(10))
    assert [len(s) for s in random_split(ds, [0.5, 0.3, 0.2], seed=0)] == [5, 3, 2]
    with pytest.raises(ValueError, match="add up"):
        random_split(ds, [7, 2])
    with pytest.raises(ValueError, match="sum to"):
        random_split(ds, [0.5, 0.2])


# ---------------------------------------------------------------- folds


@SMALL
@given(n=st.integers(2, 80), k=st.integers(2, 10), shuffle=st.booleans())
def test_kfold_covers_every_index_once(n, k, shuffle):
    if k > n:
        with pytest.raises(ValueError, match="more than"):
            list(KFold(k).split(np.arange(n)))
        return
    folds = list(KFold(k, shuffle=shuffle, seed=0 if shuffle else None).split(np.zeros(n)))
    assert len(folds) == k
    val = np.concatenate([v for _, v in folds])
    np.testing.assert_array_equal(np.sort(val), np.arange(n))  # each index validates once
    for tr, va in folds:
        np.testing.assert_array_equal(np.sort(np.concatenate([tr, va])), np.arange(n))
    sizes = [len(v) for _, v in folds]
    assert max(sizes) - min(sizes) <= 1


def test_kfold_seed_reproducible_and_unshuffled_contiguous():
    a = [v.tolist() for _, v in KFold(4, shuffle=True, seed=2).split(np.arange(20))]
    b = [v.tolist() for _, v in KFold(4, shuffle=True, seed=2).split(np.arange(20))]
    assert a == b and a != [list(range(i, i + 5)) for i in range(0, 20, 5)]
    plain = [v.tolist() for _, v in KFold(3).split(np.arange(7))]
    assert plain == [[0, 1, 2], [3, 4], [5, 6]]


@SMALL
@given(counts=st.lists(st.integers(1, 30), min_size=2, max_size=6), k=st.integers(2, 6),
       seed=st.integers(0, 5))
def test_stratified_kfold_balanced(counts, k, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(seed).shuffle(y)
    if k > len(y):
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folds = list(StratifiedKFold(k, shuffle=True, seed=seed).split(np.zeros(len(y)), y))
    val = np.concatenate([v for _, v in folds])
    np.testing.assert_array_equal(np.sort(val), np.arange(len(y)))
    for _, va in folds:
        per_class = np.bincount(y[va], minlength=len(counts))
        assert np.all(np.abs(per_class - np.array(counts) / k) < 1)
    sizes = [len(v) for _, v in folds]
    assert max(sizes) - min(sizes) <= 1
    warned = any("smallest class" in str(w.message) for w in caught)
    assert warned == (min(counts) < k)


def test_fold_bad_inputs():
    with pytest.raises(ValueError, match="n_splits"):
        KFold(1)
    with pytest.raises(ValueError, match="shuffle=True"):
        KFold(3, seed=1)
    with pytest.raises(ValueError, match="needs the class labels"):
        list(StratifiedKFold(2).split(np.arange(4)))


def test_cross_validate_scores_each_fold():
    X = np.arange(30, dtype=np.float64).reshape(15, 2)
    y = np.arange(15) % 3
    seen = []

    def score(X_tr, y_tr, X_va, y_va):
        assert not set(X_tr[:, 0]) & set(X_va[:, 0])  # train and validation are disjoint
        seen.append(len(X_va))
        return float(y_va.mean())

    res = cross_validate(score, X, y, cv=5, stratify=True, seed=0)
    assert seen == [3] * 5 and len(res.scores) == 5
    np.testing.assert_allclose(res.scores, 1.0)  # stratified: each fold holds one of 0, 1, 2
    assert res.mean == pytest.approx(1.0) and res.std == pytest.approx(0.0)
    res2 = cross_validate(lambda a, b: len(b), X, cv=KFold(4))
    assert res2.scores.tolist() == [4, 4, 4, 3]
    assert res2.std == pytest.approx(np.std([4, 4, 4, 3]))
    with pytest.raises(TypeError, match="fold 0.*number"):
        cross_validate(lambda a, b: "good", X, cv=3)


# ---------------------------------------------------------------- scalers


def _train_val():
    rng = np.random.default_rng(0)
    train = rng.normal(5.0, 2.0, size=(200, 3))
    val = rng.normal(9.0, 4.0, size=(100, 3))  # shifted on purpose: leakage would show
    return train, val


def test_standard_scaler_statistics_come_from_train_only():
    train, val = _train_val()
    scaler = StandardScaler().fit(train)
    np.testing.assert_allclose(scaler.mean_, train.mean(axis=0))
    np.testing.assert_allclose(scaler.std_, train.std(axis=0))
    both = np.concatenate([train, val])
    assert np.all(np.abs(scaler.mean_ - both.mean(axis=0)) > 0.5)  # not the pooled mean
    z_tr, z_va = scaler.transform(train), scaler.transform(val)
    np.testing.assert_allclose(z_tr.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z_tr.std(axis=0), 1, atol=1e-12)
    np.testing.assert_allclose(z_va.mean(axis=0),
                               (val.mean(axis=0) - train.mean(axis=0)) / train.std(axis=0))
    np.testing.assert_allclose(scaler.inverse_transform(z_va), val)


def test_minmax_scaler_statistics_come_from_train_only():
    train, val = _train_val()
    scaler = MinMaxScaler(feature_range=(-1, 1))
    z_tr = scaler.fit_transform(train)
    np.testing.assert_allclose(z_tr.min(axis=0), -1)
    np.testing.assert_allclose(z_tr.max(axis=0), 1)
    z_va = scaler.transform(val)
    assert z_va.max() > 1  # validation data beyond the training range is not clipped
    np.testing.assert_allclose(scaler.inverse_transform(z_va), val)


def test_constant_feature_no_division_by_zero():
    X = np.column_stack([np.full(5, 3.0), np.arange(5.0)])
    with np.errstate(all="raise"):
        z = StandardScaler().fit_transform(X)
        m = MinMaxScaler().fit_transform(X)
    np.testing.assert_array_equal(z[:, 0], 0.0)
    np.testing.assert_array_equal(m[:, 0], 0.0)
    assert np.all(np.isfinite(z)) and np.all(np.isfinite(m))


@SMALL
@given(n=st.integers(1, 20), f=st.integers(1, 4), seed=st.integers(0, 100))
def test_scalers_round_trip(n, f, seed):
    X = np.random.default_rng(seed).uniform(-50, 50, size=(n, f))
    for scaler in (StandardScaler(), MinMaxScaler()):
        np.testing.assert_allclose(scaler.inverse_transform(scaler.fit_transform(X)), X,
                                   atol=1e-9)


def test_scaler_kinds_dtypes_and_state():
    Xi = np.arange(12, dtype=np.uint8).reshape(6, 2)
    assert StandardScaler().fit_transform(Xi).dtype == np.float32
    assert StandardScaler().fit_transform(Xi.astype(np.float64)).dtype == np.float64
    out = MinMaxScaler().fit(Xi).transform(Tensor(Xi.astype(np.float32)))
    assert isinstance(out, Tensor) and out.dtype == np.float32
    s = StandardScaler().fit(Xi)
    s2 = StandardScaler().load_state_dict(s.state_dict())
    np.testing.assert_array_equal(s2.transform(Xi), s.transform(Xi))
    images = np.random.default_rng(0).uniform(size=(10, 1, 4, 4))
    assert StandardScaler().fit_transform(images).shape == (10, 1, 4, 4)  # per pixel


def test_scaler_bad_inputs():
    with pytest.raises(NotFittedError, match=r"fit\(X_train\)"):
        StandardScaler().transform(np.ones((2, 2)))
    with pytest.raises(NotFittedError):
        MinMaxScaler().inverse_transform(np.ones((2, 2)))
    s = StandardScaler().fit(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        s.transform(np.ones((4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        StandardScaler().fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="a < b"):
        MinMaxScaler(feature_range=(1, 0))


# ---------------------------------------------------------------- bundled digits


def test_digits_shape_classes_and_values():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16 and np.all(X == np.round(X))
    counts = np.bincount(y)
    assert len(counts) == 10 and counts.min() >= 170 and counts.max() <= 185
    images, y2 = load_digits(flatten=False)
    assert images.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(images.reshape(1797, 64), X)
    np.testing.assert_array_equal(y2, y)


def test_digits_file_is_packaged_intact_with_attribution():
    data = resources.files("tinygrad_edu.data")
    assert data.joinpath("digits.npz").is_file()
    notice = data.joinpath("DIGITS_LICENSE.txt").read_text(encoding="utf-8")
    assert "CC BY 4.0" in notice and "Alpaydin" in notice and "Kaynak" in notice
    X, y = load_digits(dtype=np.uint8)
    digest = hashlib.sha256(X.reshape(-1, 8, 8).tobytes() + y.astype(np.uint8).tobytes())
    # the content hash printed by tools/make_digits.py when the file was made
    assert digest.hexdigest() == "87ff0c9e40dc7e2c0e34e7257799c2e3f3aec1a016363bb11cad869ec428a826"


def test_digits_returns_fresh_arrays_and_tensors():
    X, _ = load_digits()
    X[:] = -1
    assert load_digits()[0].min() == 0
    Xt, yt = load_digits(as_tensor=True)
    assert isinstance(Xt, Tensor) and Xt.shape == (1797, 64) and yt.dtype == np.int64


# ---------------------------------------------------------------- synthetic generators


def test_make_quadratic():
    x, y = make_quadratic(50, w=(2.0, -1.0, 0.5), noise=0.0, seed=0, dtype=np.float64)
    assert x.shape == y.shape == (50, 1)
    np.testing.assert_allclose(y, 2 * x**2 - x + 0.5)
    x, y = make_quadratic(2000, w=(2.0, -1.0, 0.5), noise=0.1, seed=1, dtype=np.float64)
    coef = np.polyfit(x[:, 0], y[:, 0], 2)
    np.testing.assert_allclose(coef, [2.0, -1.0, 0.5], atol=0.03)
    a, b = make_quadratic(10, seed=4), make_quadratic(10, seed=4)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], make_quadratic(10, seed=5)[1])


def test_make_linear_regression():
    X, y, w, b = make_linear_regression(100, noise=0.0, seed=0, dtype=np.float64)
    assert X.shape == (100, 13) and y.shape == (100, 1) and w.shape == (13, 1)
    assert isinstance(b, float)
    np.testing.assert_allclose(y, X @ w + b)
    X2, y2, w2, b2 = make_linear_regression(100, seed=0, dtype=np.float64)
    np.testing.assert_array_equal(X2, X)
    assert np.std(y2 - y) == pytest.approx(0.1, rel=0.3)


def test_make_moons_and_spirals():
    X, y = make_moons(101, noise=0.0, seed=0)
    assert X.shape == (101, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [51, 50]
    np.testing.assert_allclose(np.linalg.norm(X[y == 0], axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(X[y == 1] - [1, 0.5], axis=1), 1, atol=1e-6)
    X, y = make_spirals(301, n_classes=3, seed=0)
    assert X.shape == (301, 2) and np.bincount(y).tolist() == [101, 100, 100]
    assert np.linalg.norm(X, axis=1).max() <= 1 + 1e-6  # angle noise never changes a radius
    np.testing.assert_array_equal(make_spirals(30, seed=2)[0], make_spirals(30, seed=2)[0])


@pytest.mark.parametrize("call,match", [
    (lambda: make_quadratic(0), "n must be"), (lambda: make_moons(10, noise=-1), "noise"),
    (lambda: make_spirals(10, n_classes=1), "n_classes"),
    (lambda: make_linear_regression(10, n_features=0), "n_features"),
    (lambda: make_quadratic(5, seed=1, generator=np.random.default_rng()), "not both"),
    (lambda: make_moons(5, seed=-1), "seed")])
def test_generator_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- IDX files


def _idx_bytes(arr, code):
    """IDX bytes written by hand from the format description (independent of the reader)."""
    big = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + np.asarray(arr).astype(big).tobytes()


@SMALL
@given(shape=st.lists(st.integers(0, 5), min_size=1, max_size=3),
       code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]), gz=st.booleans())
def test_read_idx_round_trip(tmp_path_factory, shape, code, gz):
    rng = np.random.default_rng(len(shape) * 16 + code)
    arr = rng.integers(0, 100, size=shape)
    arr = arr * (-1.5 if code in (0x0D, 0x0E) else 1) + (-50 if code == 0x09 else 0)
    raw = _idx_bytes(arr, code)
    path = tmp_path_factory.mktemp("idx") / "x.idx"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    got = read_idx(path)
    assert got.shape == tuple(shape) and got.dtype.isnative
    np.testing.assert_array_equal(got, arr)


def test_read_idx_rejects_broken_files(tmp_path):
    good = _idx_bytes(np.arange(24).reshape(2, 3, 4), 0x08)
    cases = {"truncated": good[:-5], "header": good[:9], "unexpected": good + b"\0",
             "magic": b"\x01" + good[1:], "element type": good[:2] + b"\x07" + good[3:]}
    for match, raw in cases.items():
        (tmp_path / "f").write_bytes(raw)
        with pytest.raises(ValueError, match=match):
            read_idx(tmp_path / "f")
    (tmp_path / "f.gz").write_bytes(gzip.compress(good)[:-12])  # a cut-off download
    with pytest.raises(ValueError, match="decompressed|truncated"):
        read_idx(tmp_path / "f.gz")


def test_load_mnist_from_idx_folder(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(7, 28, 28))
    labels = np.arange(7) % 10
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(images, 8)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(labels, 8))
    X, y = load_mnist(tmp_path, kind="t10k")
    assert X.shape == (7, 1, 28, 28) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(X[:, 0], images)
    assert load_mnist(tmp_path, kind="t10k", flatten=True)[0].shape == (7, 784)
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path, kind="train")
    with pytest.raises(ValueError, match="kind"):
        load_mnist(tmp_path, kind="test")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(labels[:5], 8))
    with pytest.raises(ValueError, match="do not match"):
        load_mnist(tmp_path, kind="t10k")
