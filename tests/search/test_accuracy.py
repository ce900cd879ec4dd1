import numpy as np

from ofa_edge.search.accuracy import cache_path, collect, predictor_for, predictor_path


def test_measured_dataset_is_cached_and_reused(tiny_supernet, data_root):
    """Accuracies of a random supernet on 16 real held-out CIFAR-10 images: near chance, in
    [0, 100], cached beside the supernet keyed by its hash, and reused on the second call."""
    path, settings = tiny_supernet["path"], tiny_supernet["settings"]
    info = tiny_supernet["info"]
    assert info["measured"] == 8 and info["reused"] == 0
    assert cache_path(path).is_file() and predictor_path(path).is_file()
    g, top1, again = collect(path, data_root, 8, settings=settings, progress=False)
    assert again["measured"] == 0 and again["reused"] == 8
    assert g.shape == (8, 46) and ((top1 >= 0) & (top1 <= 100)).all()
    assert (np.round(top1 * 16 / 100, 6) % 1 == 0).all()  # whole numbers of correct images
    pred, pinfo = predictor_for(path, data_root, 8, settings=settings, progress=False)
    assert pinfo["reused"] is True
    r = pred.report
    assert (r.n_train, r.n_test) == (6, 2) and np.isfinite(r.rmse) and r.rmse > 0
    assert pinfo["supernet_sha256"] == info["supernet_sha256"]


def test_changed_checkpoint_is_measured_again(tiny_supernet, data_root, tmp_path):
    import shutil

    from ofa_edge.supernet.checkpoint import load_supernet, save_supernet

    net = load_supernet(tiny_supernet["path"])
    with __import__("torch").no_grad():
        next(net.parameters()).mul_(0.5)
    other = tmp_path / "other.safetensors"
    save_supernet(net, other)
    shutil.copy(cache_path(tiny_supernet["path"]), cache_path(other))
    _, _, info = collect(other, data_root, 3, settings=tiny_supernet["settings"], progress=False)
    assert info["measured"] == 3  # a different hash does not reuse the old numbers


def test_other_data_is_measured_again_and_a_moved_copy_is_not(tiny_supernet, data_root, tmp_path):
    """Accuracies and the predictor are keyed by the dataset's content, not only the supernet."""
    import shutil

    from ofa_edge.search.accuracy import data_identity

    settings, path = tiny_supernet["settings"], tmp_path / "tiny.safetensors"  # a copy: its own cache files
    for src, dst in ((tiny_supernet["path"], path), (cache_path(tiny_supernet["path"]), cache_path(path))):
        shutil.copy(src, dst)
    shutil.copy(predictor_path(tiny_supernet["path"]), predictor_path(path))
    moved, other = tmp_path / "moved", tmp_path / "other"
    for folder in (moved, other):
        folder.mkdir()
        for f in data_root.iterdir():
            (folder / f.name).symlink_to(f.resolve())
    labels = np.load(data_root / "train.labels.npy")
    (other / "train.labels.npy").unlink()
    np.save(other / "train.labels.npy", (labels + 1) % 10)  # same images, other labels: another task
    assert data_identity(moved) == data_identity(data_root) != data_identity(other)
    assert collect(path, moved, 8, settings=settings, progress=False)[2]["reused"] == 8
    assert collect(path, other, 3, settings=settings, progress=False)[2]["measured"] == 3
    assert predictor_for(path, moved, 8, settings=settings, progress=False)[1]["reused"] is True
    _, info = predictor_for(path, other, 8, settings=settings, progress=False)
    assert info["reused"] is False and data_identity(other) in str(info)
    # the predictor of the first data is kept; the new one is named by its data, and both are found again
    assert info["predictor"] == str(predictor_path(path, data_identity(other)))
    assert predictor_for(path, moved, 8, settings=settings, progress=False)[1]["predictor"] == str(predictor_path(path))
    assert predictor_for(path, other, 8, settings=settings, progress=False)[1]["reused"] is True


def test_accuracy_is_measured_on_an_imagefolder_tree(tiny_supernet, cifar_imagefolder, tmp_path):
    """Subnets are measured on any dataset layout: here 20 real CIFAR-10 images as ROOT/train/<class>/*.png."""
    import shutil

    from ofa_edge.search.accuracy import MeasureSettings, data_identity

    path = tmp_path / "tiny.safetensors"
    shutil.copy(tiny_supernet["path"], path)
    settings = MeasureSettings(n_val=12, n_calib=8, batch_size=8)
    g, top1, info = collect(path, cifar_imagefolder, 3, settings=settings, progress=False)
    assert info["measured"] == 3 and g.shape == (3, 46)
    assert (np.round(top1 * 12 / 100, 6) % 1 == 0).all()  # whole numbers of correct images out of 12
    assert collect(path, cifar_imagefolder, 3, settings=settings, progress=False)[2]["reused"] == 3
    assert data_identity(cifar_imagefolder) is not None


def test_records_another_process_writes_meanwhile_are_kept(tiny_supernet, data_root, tmp_path, monkeypatch):
    """Workers measuring one supernet merge into its cache instead of overwriting each other."""
    import json
    import shutil

    import ofa_edge.supernet.evaluate as ev  # search.accuracy imports it when it measures

    path = tmp_path / "tiny.safetensors"
    shutil.copy(tiny_supernet["path"], path)
    real = ev.evaluate_subnet

    def measure_while_another_worker_writes(*args, **kwargs):
        doc = json.loads(cache_path(path).read_text()) if cache_path(path).is_file() else None
        if doc is not None:  # from the second measurement on: another worker's record lands first
            by_key = next(iter(doc["supernets"].values()))["by_settings"]
            next(iter(by_key.values()))["other-worker-subnet"] = 12.5
            cache_path(path).write_text(json.dumps(doc))
        return real(*args, **kwargs)

    monkeypatch.setattr(ev, "evaluate_subnet", measure_while_another_worker_writes)
    collect(path, data_root, 3, settings=tiny_supernet["settings"], progress=False)
    records = next(iter(json.loads(cache_path(path).read_text())["supernets"].values()))["by_settings"]
    kept = next(iter(records.values()))
    assert kept["other-worker-subnet"] == 12.5 and len(kept) == 4


def test_the_embedded_supernets_folder_is_never_written(tiny_supernet, data_root, tmp_path, monkeypatch):
    """The embedded supernet ships inside the package: a refit, or accuracies measured on other data, go to
    your data folder (``<user data>/pretrained``), which is read first; the shipped files are read, never
    written, and their accuracies are reused."""
    import shutil

    from ofa_edge import paths
    from ofa_edge.search.accuracy import data_identity

    shipped = tmp_path / "package" / "pretrained"
    shipped.mkdir(parents=True)
    path = shipped / "tiny.safetensors"
    for src, dst in (
        (tiny_supernet["path"], path),
        (predictor_path(tiny_supernet["path"]), shipped / "tiny.predictor.safetensors"),
    ):
        shutil.copy(src, dst)
    shutil.copy(cache_path(tiny_supernet["path"]), shipped / "tiny.accuracy.json")
    monkeypatch.setattr(paths, "pretrained_dir", lambda: shipped)
    before = {f.name: f.read_bytes() for f in shipped.iterdir()}
    mine = paths.user_data_dir() / "pretrained"
    settings = tiny_supernet["settings"]

    assert predictor_for(path, data_root, 8, settings=settings, progress=False)[1]["predictor"] == str(
        shipped / "tiny.predictor.safetensors"
    )
    _, info = predictor_for(path, data_root, 8, settings=settings, refit=True, progress=False)
    assert info["reused"] is False and info["measured"] == 0 and info["accuracies_reused"] == 8
    assert info["predictor"] == str(mine / "tiny.predictor.safetensors") and info["cache"] == str(
        mine / "tiny.accuracy.json"
    )
    assert predictor_for(path, data_root, 8, settings=settings, progress=False)[1]["predictor"] == info["predictor"]

    other = tmp_path / "other"
    other.mkdir()
    for f in data_root.iterdir():
        (other / f.name).symlink_to(f.resolve())
    (other / "train.labels.npy").unlink()
    np.save(other / "train.labels.npy", (np.load(data_root / "train.labels.npy") + 1) % 10)
    _, info = predictor_for(path, other, 8, settings=settings, progress=False)
    assert info["measured"] == 8 and info["predictor"] == str(predictor_path(path, data_identity(other)))
    assert predictor_path(path, data_identity(other)).parent == mine
    assert {f.name: f.read_bytes() for f in shipped.iterdir()} == before


def test_a_refit_measures_nothing_new_unless_asked_and_says_what_it_will_measure(
    tiny_supernet, data_root, tmp_path, monkeypatch
):
    """--refit-predictor on the embedded supernet measured 800 subnets more than its 200 shipped ones (the
    default count was 1000): without a count, a refit takes the saved predictor's; a count beyond the cache
    says up front how many subnets are new."""
    import shutil
    from contextlib import contextmanager

    import ofa_edge.search.accuracy as acc

    path, settings = tmp_path / "tiny.safetensors", tiny_supernet["settings"]
    for src, dst in ((tiny_supernet["path"], path), (cache_path(tiny_supernet["path"]), cache_path(path))):
        shutil.copy(src, dst)
    shutil.copy(predictor_path(tiny_supernet["path"]), predictor_path(path))
    _, info = predictor_for(path, data_root, settings=settings, refit=True, progress=False)
    assert info["reused"] is False and info["n_subnets"] == 8
    assert info["measured"] == 0 and info["accuracies_reused"] == 8
    notes = []
    real = acc.progress_bar

    @contextmanager
    def recording(description, total, enabled=True, note=None):
        notes.append(note)
        with real(description, total, False, note) as advance:
            yield advance

    monkeypatch.setattr(acc, "progress_bar", recording)
    _, info = predictor_for(path, data_root, 10, settings=settings, refit=True, progress=False)
    assert info["measured"] == 2 and info["n_subnets"] == 10
    assert notes[0].startswith("measuring the top-1 of 2 new subnet(s) (8 of the 10 are cached)")
    assert "under a minute on a 2-core CPU" in notes[0] or "seconds each on a GPU" in notes[0]
    _, info = predictor_for(path, data_root, settings=settings, refit=True, progress=False)
    assert info["n_subnets"] == 10 and info["measured"] == 0  # the predictor just saved counts now


def _copy_tiny(tiny_supernet, folder):
    """A copy of the tiny supernet with its accuracy cache and predictor (their own files)."""
    import shutil

    path = folder / "tiny.safetensors"
    for src, dst in (
        (tiny_supernet["path"], path),
        (cache_path(tiny_supernet["path"]), cache_path(path)),
        (predictor_path(tiny_supernet["path"]), predictor_path(path)),
    ):
        shutil.copy(src, dst)
    return path


def test_accuracies_measured_in_another_bn_batch_are_measured_again(tiny_supernet, data_root, tmp_path):
    """BN's recalibration batch shifts top-1, so the cache keys records by it; a record written before it was a
    setting of its own (no ``calib_batch``) was recalibrated in batches of its ``batch_size``."""
    import json
    from dataclasses import replace

    from ofa_edge.search.accuracy import data_identity

    path, settings = _copy_tiny(tiny_supernet, tmp_path), tiny_supernet["settings"]
    other = replace(settings, calib_batch=4)
    assert collect(path, data_root, 3, settings=other, progress=False)[2]["measured"] == 3
    doc = json.loads(cache_path(path).read_text())
    by_settings = next(iter(doc["supernets"].values()))["by_settings"]
    key = settings.key(data_identity(data_root))
    legacy = {k: v for k, v in json.loads(key).items() if k != "calib_batch"} | {"batch_size": 4}
    by_settings[json.dumps(legacy)] = by_settings.pop(key)  # the 8 records, as if measured in batches of 4
    cache_path(path).write_text(json.dumps(doc))
    assert collect(path, data_root, 8, settings=replace(other, batch_size=4), progress=False)[2]["reused"] == 8
    assert collect(path, data_root, 3, settings=settings, progress=False)[2]["measured"] == 3


def test_a_predictor_fitted_on_another_bn_batch_is_refitted(tiny_supernet, data_root, tmp_path):
    """A saved predictor is reused only where its accuracies were recalibrated in the batch asked for; one
    recorded before ``calib_batch`` existed counts its ``batch_size``."""
    from dataclasses import replace

    from ofa_edge.search.predictor import AccuracyPredictor

    path, settings = _copy_tiny(tiny_supernet, tmp_path), tiny_supernet["settings"]
    _, info = predictor_for(path, data_root, 8, settings=replace(settings, calib_batch=4), progress=False)
    assert info["reused"] is False and info["measured"] == 8
    pred = AccuracyPredictor.load(predictor_path(path))
    legacy = {k: v for k, v in pred.meta["settings"].items() if k != "calib_batch"} | {"batch_size": 4}
    pred.save(predictor_path(path), {"settings": legacy})
    _, info = predictor_for(path, data_root, 8, settings=replace(settings, calib_batch=4), progress=False)
    assert info["reused"] is True


def test_a_cache_key_of_settings_this_version_cannot_read_is_kept_apart_not_a_crash(tmp_path):
    """Keys are re-read to add the calibration batch older ones lacked: a key with a setting of another version,
    one without batch_size or one that is not JSON gave a traceback; they now match no settings of today's."""
    import json

    from ofa_edge.search.accuracy import FORMAT, MeasureSettings, _read_caches

    today = MeasureSettings().key("d")
    old = json.loads(today)
    del old["calib_batch"]  # a key from before calib_batch: its batch_size was its calibration batch
    odd = [json.dumps(old | {"amp": True}), json.dumps({"data": "d"}), "not json"]
    by_settings = {json.dumps(old, sort_keys=True): {"a": 1.0}} | {k: {"b": 2.0} for k in odd}
    path = tmp_path / "cache.json"
    path.write_text(json.dumps({"format": FORMAT, "supernets": {"sha": {"space": "s", "by_settings": by_settings}}}))
    read = _read_caches([path])["supernets"]["sha"]["by_settings"]
    assert read[today] == {"a": 1.0}
    assert all(read[k] == {"b": 2.0} for k in odd)


def test_the_held_out_split_fits_a_small_training_split():
    """A dataset of fewer than 5,500 training images could get no predictor; it is held out whole, a tenth
    recalibrating BN, down to 1,000 images."""
    from ofa_edge.search.accuracy import MIN_HOLDOUT, MeasureSettings

    default = MeasureSettings()
    assert default.fitted_to(None) == default.fitted_to(50000) == default.fitted_to(5500) == default
    small = default.fitted_to(2000)
    assert (small.n_val, small.n_calib) == (1800, 200) and small.split_seed == default.split_seed
    assert default.fitted_to(5000).n_calib == 500 and default.fitted_to(MIN_HOLDOUT - 1) == default


def test_a_small_training_split_is_measured_whole(tiny_supernet, data_root, tmp_path):
    """1,200 real CIFAR-10 training images (packed): the default settings hold them out whole, and say so."""
    import shutil

    import pytest

    from ofa_edge.errors import UserError

    path = tmp_path / "tiny.safetensors"
    shutil.copy(tiny_supernet["path"], path)
    small = tmp_path / "small"
    small.mkdir()
    offsets = np.load(data_root / "train.offsets.npy")[:1201]
    (small / "train.jpg.bin").write_bytes((data_root / "train.jpg.bin").read_bytes()[: offsets[-1]])
    np.save(small / "train.offsets.npy", offsets)
    np.save(small / "train.labels.npy", np.load(data_root / "train.labels.npy")[:1200])
    shutil.copy(data_root / "classes.txt", small / "classes.txt")
    top1, info = measure_one(path, small)
    assert (info["settings"]["n_val"], info["settings"]["n_calib"]) == (1080, 120)
    assert (np.round(top1 * 1080 / 100, 6) % 1 == 0).all()  # whole numbers of correct images out of 1,080
    np.save(small / "train.offsets.npy", offsets[:901])  # 900 images: too few to rank subnets by
    np.save(small / "train.labels.npy", np.load(data_root / "train.labels.npy")[:900])
    with pytest.raises(UserError, match="has 900 training images.*down to 1,000 images is held out whole"):
        measure_one(path, small)


def measure_one(supernet, data):
    """The smallest subnet's top-1 on ``data``, in the default measuring settings."""
    from ofa_edge.search.accuracy import load_space, measure

    return measure(supernet, data, [load_space(supernet).min()], progress=False)
