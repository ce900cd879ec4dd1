"""SubnetConfig: validation names the bad field, JSON and OFA arch-dict round trips."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ofa_edge.errors import ConfigError, UserError
from ofa_edge.space import SearchSpace, SubnetConfig

SPACES = SearchSpace.names()
INTS = st.integers(-1000, 1000)


FAST = settings(max_examples=40, deadline=None)


def configs(space: str | None = None) -> st.SearchStrategy[SubnetConfig]:
    """Random valid configs (seeded NumPy sampling: cheap to draw), plus each space's min and max."""
    names = st.just(space) if space else st.sampled_from(SPACES)
    sampled = st.builds(
        lambda n, seed: SearchSpace.get(n).sample(np.random.default_rng(seed)), names, st.integers(0, 2**32 - 1)
    )
    extremes = names.flatmap(lambda n: st.sampled_from([SearchSpace.get(n).min(), SearchSpace.get(n).max()]))
    return st.one_of(extremes, sampled)


def _field(data: object) -> str:
    with pytest.raises(ConfigError) as e:
        SubnetConfig.from_dict(data)  # type: ignore[arg-type]
    assert isinstance(e.value, UserError)  # the CLI turns it into exit 2
    assert str(e.value).startswith(e.value.field + ":")
    return e.value.field


@FAST
@given(configs())
def test_json_round_trip(cfg: SubnetConfig) -> None:
    assert SubnetConfig.from_json(cfg.to_json()) == cfg
    assert SubnetConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@FAST
@given(configs())
def test_ofa_arch_dict_round_trip(cfg: SubnetConfig) -> None:
    ofa = cfg.to_ofa_dict()
    assert set(ofa) == {"ks", "e", "d", "r"}
    assert len(ofa["ks"]) == len(ofa["e"]) == 20 and len(ofa["d"]) == 5
    assert SubnetConfig.from_dict(ofa, space=cfg.space) == cfg
    # OFA's sampler also emits "wid": None and the resolution as a bare int
    assert SubnetConfig.from_dict({**ofa, "wid": None, "r": cfg.resolution}, space=cfg.space) == cfg


def test_ofa_dict_without_space_or_resolution_uses_imagenet_max() -> None:
    cfg = SubnetConfig.from_dict({"ks": [5] * 20, "e": [4] * 20, "d": [3] * 5})
    assert cfg.space == "mbv3-w1.0-imagenet" and cfg.resolution == 224


def test_a_cifar_ofa_dict_read_as_imagenet_says_to_pass_the_space() -> None:
    """to_ofa_dict drops the space (OFA's format has none): reading it back alone guesses ImageNet."""
    cifar = SearchSpace.get("mbv3-w1.0-cifar")
    ofa = cifar.max().to_ofa_dict()
    with pytest.raises(
        ConfigError, match=r"r: 32 is not in space mbv3-w1.0-imagenet .*read in mbv3-w1.0-imagenet: pass"
    ):
        SubnetConfig.from_dict(ofa)
    assert SubnetConfig.from_dict(ofa, space=cifar) == cifar.max()  # a SearchSpace works as its name


def test_a_named_space_object_stands_for_its_name() -> None:
    cifar = SearchSpace.get("mbv3-w1.0-cifar")
    m = cifar.max()
    assert SubnetConfig(cifar, 32, m.depth, m.kernel, m.expand) == m  # type: ignore[arg-type]
    hand_made = dataclasses.replace(cifar, name="my-space")
    with pytest.raises(UserError, match="'my-space' is not one of the named spaces"):
        SubnetConfig(hand_made, 32, m.depth, m.kernel, m.expand)  # type: ignore[arg-type]


def test_from_file_round_trip(tmp_path) -> None:
    cfg = SearchSpace.get("mbv3-w1.0-cifar").max()
    cfg.save(tmp_path / "sub.json")
    assert SubnetConfig.load(tmp_path / "sub.json") == cfg
    with pytest.raises(UserError, match="does not exist"):
        SubnetConfig.load(tmp_path / "missing.json")
    (tmp_path / "cut.json").write_text(cfg.to_json()[:40])  # a truncated file names itself
    with pytest.raises(UserError, match=r"subnet file '.*cut\.json' is malformed JSON: .*: line 1 column \d+"):
        SubnetConfig.load(tmp_path / "cut.json")
    (tmp_path / "open.json").write_text('{"space": "mbv3-w1')  # json's message ends in "at": said once
    with pytest.raises(UserError, match=r"Unterminated string starting at: line 1 column 11 \(char 10\);"):
        SubnetConfig.load(tmp_path / "open.json")


@FAST
@given(configs(), st.sampled_from(["depth", "kernel", "expand"]), st.integers(0, 40))
def test_wrong_length_names_field(cfg: SubnetConfig, name: str, length: int) -> None:
    d = cfg.to_dict()
    if length == len(d[name]):
        length += 1
    d[name] = (d[name] * 3)[:length]
    assert _field(d) == name


@FAST
@given(configs(), st.sampled_from(["depth", "kernel", "expand"]), st.data())
def test_out_of_range_value_names_field_and_index(cfg: SubnetConfig, name: str, data: st.DataObject) -> None:
    d = cfg.to_dict()
    i = data.draw(st.integers(0, len(d[name]) - 1))
    allowed = set(cfg.search_space.choices(name))
    d[name][i] = data.draw(INTS.filter(lambda v: v not in allowed))
    assert _field(d) == f"{name}[{i}]"


@FAST
@given(configs(), INTS)
def test_bad_resolution_names_field(cfg: SubnetConfig, res: int) -> None:
    d = cfg.to_dict()
    d["resolution"] = res
    if res in cfg.search_space.resolutions:
        assert SubnetConfig.from_dict(d).resolution == res
    else:
        assert _field(d) == "resolution"


def test_a_subnet_file_error_names_the_file_once_ahead_of_the_field(tmp_path) -> None:
    """It ended 'resolution: 30 is not in space mbv3-w1.0-cifar (24, 28, 32) (in a.json)': two sets of brackets."""
    d = SearchSpace.get("mbv3-w1.0-cifar").min().to_dict() | {"resolution": 30}
    (tmp_path / "a.json").write_text(json.dumps(d))
    with pytest.raises(ConfigError) as e:
        SubnetConfig.load(tmp_path / "a.json")
    said = f"subnet file '{tmp_path / 'a.json'}': resolution: 30 is not in space mbv3-w1.0-cifar (24, 28, 32)"
    assert str(e.value) == said and e.value.field == "resolution"


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("resolution", 30, "resolution: 30 is not in space mbv3-w1.0-cifar (24, 28, 32)"),
        ("depth", 5, "depth[1]: 5 is not in space mbv3-w1.0-cifar (2, 3, 4)"),
        ("kernel", 9, "kernel[1]: 9 is not in space mbv3-w1.0-cifar (3, 5, 7)"),
        ("expand", 8, "expand[1]: 8 is not in space mbv3-w1.0-cifar (3, 4, 6)"),
    ],
)
def test_a_value_the_space_lacks_names_the_space_and_its_values(field: str, value: int, said: str) -> None:
    """It said 'resolution: 30 is not one of [24, 28, 32]', naming no space."""
    d = SearchSpace.get("mbv3-w1.0-cifar").min().to_dict()
    if field == "resolution":
        d[field] = value
    else:
        d[field][1] = value
    with pytest.raises(ConfigError) as e:
        SubnetConfig.from_dict(d)
    assert str(e.value) == said


@FAST
@given(configs(), st.text(max_size=30).filter(lambda s: s not in SPACES))
def test_unknown_space_names_field(cfg: SubnetConfig, name: str) -> None:
    d = cfg.to_dict()
    d["space"] = name
    assert _field(d) == "space"
    ofa = {**cfg.to_ofa_dict(), "space": name}
    assert _field(ofa) == "space"


@FAST
@given(
    configs(),
    st.sampled_from(["resolution", "depth", "kernel", "expand"]),
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).filter(lambda v: not math.isfinite(v) or v != int(v)),
        st.text(max_size=5),
        st.none(),
        st.booleans(),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    ),
)
def test_non_integer_names_field(cfg: SubnetConfig, name: str, bad: object) -> None:
    d = cfg.to_dict()
    if name == "resolution":
        d[name] = bad
        assert _field(d) == "resolution"
    else:
        d[name][0] = bad
        assert _field(d) == f"{name}[0]"


def test_integral_floats_are_accepted() -> None:
    d = SearchSpace.get("mbv3-w1.0-cifar").min().to_dict()
    d["resolution"] = 24.0
    assert SubnetConfig.from_dict(d).resolution == 24


def test_the_constructor_takes_numpy_numbers_as_python_ints() -> None:
    """What numpy-driven code hands over (np.int64, arrays, 32.0) is the same config as plain ints."""
    import numpy as np

    plain = SearchSpace.get("mbv3-w1.0-cifar").max()
    numpy_made = SubnetConfig(
        space=plain.space,
        resolution=np.int64(plain.resolution),
        depth=np.array(plain.depth),
        kernel=[np.int32(k) for k in plain.kernel],
        expand=[float(e) for e in plain.expand],
    )
    assert numpy_made == plain and hash(numpy_made) == hash(plain)
    assert type(numpy_made.resolution) is int and {type(v) for v in numpy_made.depth + numpy_made.kernel} == {int}
    with pytest.raises(ConfigError, match="resolution: expected an integer, got 32.5"):
        SubnetConfig(plain.space, 32.5, plain.depth, plain.kernel, plain.expand)


@FAST
@given(
    configs(),
    st.text(min_size=1, max_size=12).filter(
        lambda s: s not in {"space", "resolution", "depth", "kernel", "expand", "meta", "ks", "e", "d"}
    ),
)
def test_unknown_field_is_named(cfg: SubnetConfig, extra: str) -> None:
    assert _field({**cfg.to_dict(), extra: 1}) == extra
    assert _field({**cfg.to_ofa_dict(), extra: 1}) == extra


@FAST
@given(configs(), st.sampled_from(["space", "resolution", "depth", "kernel", "expand"]))
def test_missing_field_is_named(cfg: SubnetConfig, name: str) -> None:
    d = cfg.to_dict()
    del d[name]
    assert _field(d) == name


@FAST
@given(configs(), st.sampled_from(["ks", "e", "d"]))
def test_ofa_dict_errors_use_ofa_names(cfg: SubnetConfig, name: str) -> None:
    ofa = cfg.to_ofa_dict()
    ofa[name] = ofa[name][:-1]
    assert _field({**ofa, "space": cfg.space}) == name
    del ofa[name]
    assert _field({**ofa, "space": cfg.space}) == name
    assert _field({**cfg.to_ofa_dict(), "space": cfg.space, "r": [cfg.resolution, cfg.resolution]}) == "r"
    assert _field({**cfg.to_ofa_dict(), "space": cfg.space, "wid": 1.2}) == "wid"


@FAST
@given(st.text(max_size=40))
def test_malformed_json_is_a_user_error(text: str) -> None:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        with pytest.raises(UserError, match="malformed"):
            SubnetConfig.from_json(text)
    else:
        with pytest.raises(UserError):  # valid JSON, but not a subnet
            SubnetConfig.from_json(text)


@pytest.mark.parametrize("text", ['{"space": "mbv3-w1.0-cifar",', "[1, 2]", "null", '"cfg"', "{'a': 1}"])
def test_malformed_or_non_object_json(text: str) -> None:
    with pytest.raises(UserError):
        SubnetConfig.from_json(text)


@FAST
@given(configs())
def test_canonical_keeps_active_genes_and_is_idempotent(cfg: SubnetConfig) -> None:
    can = cfg.canonical()
    assert can.canonical() == can
    assert can.depth == cfg.depth and can.resolution == cfg.resolution
    for b in cfg.active_blocks():
        assert (can.kernel[b], can.expand[b]) == (cfg.kernel[b], cfg.expand[b])


def test_describe_is_one_line_per_stage() -> None:
    cfg = SearchSpace.get("mbv3-w1.0-cifar").max()
    assert cfg.describe().startswith("r32 k7e6,k7e6,k7e6,k7e6 | ")
    assert cfg.describe().count("|") == 4


def test_short_id_names_the_network_stably() -> None:
    """Subnets whose mean kernel and expand read alike get different ids; genes of blocks a subnet does not
    run change none; the id is pinned (search records and tables written earlier keep meaning the same)."""
    base = SearchSpace.get("mbv3-w1.0-cifar").min(28)
    assert base.short_id() == "cbc5b6"
    first = dataclasses.replace(base, kernel=(7, *base.kernel[1:]))  # block 0 runs (every stage runs 2)
    second = dataclasses.replace(base, kernel=(3, 7, *base.kernel[2:]))
    assert first.short_id() != second.short_id() and len(first.short_id()) == 6
    unrun = dataclasses.replace(first, kernel=(*first.kernel[:2], 7, *first.kernel[3:]))  # block 2 does not run
    assert unrun != first and unrun.short_id() == first.short_id()


def test_files_that_are_not_subnets_are_named_for_what_they_are(tmp_path) -> None:
    """A binary file, or a pruned network's slim.json, passed where a subnet JSON goes."""
    binary = tmp_path / "model.onnx"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(UserError, match="not a subnet JSON file"):
        SubnetConfig.load(binary)
    slim = tmp_path / "slim.json"
    slim.write_text(json.dumps({"base": {"kind": "ofa-subnet", "subnet": {}}, "preprocessing": {}}))
    with pytest.raises(UserError, match="is a pruned network.*--slim") as refused:
        SubnetConfig.load(slim)
    # `eval --subnet slim.json` was told to export it: it names eval's --slim too, and the unpruned subnet's file
    assert f"ofa-edge eval --slim {slim}" in str(refused.value) and str(tmp_path / "subnet.json") in str(refused.value)


def test_a_prune_output_folder_is_not_taken_as_its_unpruned_subnet(tmp_path) -> None:
    """`export --subnet PRUNE_OUT` (for `--slim PRUNE_OUT`) exported the unpruned subnet.json beside slim.json,
    saying only that the folder's subnet.json was used."""
    cfg = SearchSpace.get("mbv3-w1.0-cifar").min()
    cfg.save(tmp_path / "subnet.json")
    (tmp_path / "slim.json").write_text("{}")
    with pytest.raises(UserError, match=r"output folder of `ofa-edge prune`.*--slim.*subnet\.json"):
        SubnetConfig.load(tmp_path)
    assert SubnetConfig.load(tmp_path / "subnet.json") == cfg  # the unpruned subnet, asked for by its file


def test_constructor_and_from_json_name_wrong_types() -> None:
    with pytest.raises(ConfigError, match="depth: expected a list of integers, got NoneType"):
        SubnetConfig(space="mbv3-w1.0-cifar", resolution=32, depth=None, kernel=[3] * 20, expand=[3] * 20)
    with pytest.raises(UserError, match=r"from_json takes the JSON text \(str\), got NoneType; for a file use"):
        SubnetConfig.from_json(None)
    for bad in (None, 3):
        with pytest.raises(UserError, match=r"SubnetConfig.load takes a file path \(str or Path\)"):
            SubnetConfig.load(bad)  # type: ignore[arg-type]


def test_load_takes_a_search_folders_subnet_json(tmp_path) -> None:
    """A folder was 'cannot read subnet file ...: Is a directory'."""
    cfg = SearchSpace.get("mbv3-w1.0-cifar").min()
    with pytest.raises(UserError, match="^subnet '.*' is a folder; pass the subnet JSON file in it"):
        SubnetConfig.load(tmp_path)  # from Python: no --subnet flag to name
    cfg.save(tmp_path / "subnet.json")
    assert SubnetConfig.load(tmp_path) == cfg


def test_load_takes_a_search_report_for_its_chosen_subnet(tmp_path) -> None:
    """``eval --subnet last_search.json`` was 'device: unknown field'; export already read it."""
    cfg = SearchSpace.get("mbv3-w1.0-cifar").min()
    report = {"subnet": cfg.to_dict(), "device": "x86-cpu", "predicted": {"latency_ms": 1.0}}
    (tmp_path / "last_search.json").write_text(json.dumps(report))
    assert SubnetConfig.load(tmp_path / "last_search.json") == cfg


def test_a_missing_file_names_what_to_pass(tmp_path) -> None:
    """It said only 'does not exist'."""
    with pytest.raises(
        UserError, match=r"does not exist; check the path, or pass the subnet\.json that `ofa-edge search`"
    ):
        SubnetConfig.load(tmp_path / "nope" / "subnet.json")


def test_another_ofa_edge_file_is_named_as_what_it_is(tmp_path) -> None:
    """A latency table given as a subnet read 'complete: unknown field; expected space, resolution, ...'."""
    from ofa_edge.paths import SHIPPED_TABLES

    with pytest.raises(UserError, match=r"x86-cpu.json' is an ofa-edge-latency/1 file, not a subnet; pass the subnet"):
        SubnetConfig.load(SHIPPED_TABLES / "x86-cpu.json")
