"""The options of ``ofa-edge search`` as a library takes them (:class:`SearchOptions`), read as the command line
reads them and checked before any work: every refusal names the field and its command-line option."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from os import PathLike
from pathlib import Path

from ofa_edge.errors import UserError, did_you_mean, option_name, refuse_options
from ofa_edge.search.algorithms import ALGORITHMS
from ofa_edge.search.constraints import DEVICE_OPTION, LATENCY_OPTION, cost_bounds
from ofa_edge.search.ranking import DEFAULT_TIE
from ofa_edge.units import check_range

ACCURACY_PROXIES = ("macs",)  # --accuracy-proxy: what ranks subnets instead of predicted accuracy

# what each listed field takes: its name in messages, the kind of item, one item, a comma list
_LISTED = {
    "devices": (DEVICE_OPTION, "a device name", "x86-cpu", "x86-cpu,jetson-orin"),
    "latency": (LATENCY_OPTION, "a time with its unit", "15ms", "15ms,4ms"),
}


def _listed(field: str, values: str | list[str]) -> list[str]:
    """Repeated options and comma lists alike: ``--device a --device b`` or ``--device a,b`` (one string too)."""
    flag, what, one, many = _LISTED[field]
    parts = []
    for value in [values] if isinstance(values, str) or not isinstance(values, Iterable) else values:
        if not isinstance(value, str):
            raise UserError(f"{flag} takes text ({what}), e.g. '{one}'; got {type(value).__name__} {value!r}.")
        items = [item.strip() for item in value.split(",")]
        if "" in items:
            raise UserError(
                f"{flag} '{value}' has an empty item (an unset shell variable, or a stray comma); give {flag} a "
                f"value per item, e.g. {flag} {many}."
            )
        parts += items
    return parts


@dataclass
class SearchOptions:
    """Everything ``ofa-edge search`` takes, as the CLI passes it (strings with units, ``None`` for defaults)."""

    latency: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    tables: list[str | Path] = field(default_factory=list)
    flops: str | None = None
    params: str | None = None
    algo: str = "evolution"
    supernet: str | None = None
    accuracy_proxy: str | None = None
    data: str | None = None
    samples: int | None = None  # None: DEFAULT_SAMPLES, or with refit_predictor what the saved predictor had
    refit_predictor: bool = False
    population: int = 100
    generations: int = 500
    trials: int | None = None
    top_k: int = 5
    tie: float = DEFAULT_TIE
    out: str | None = None
    storage: str | None = None
    study: str | None = None
    seed: int = 0
    refine: int = 0
    measure: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        """Read values as the command line does (comma lists, names in any case) and refuse options no
        search can run with, naming the field and its command-line option (a :class:`UserError`)."""
        self.latency, self.devices = _listed("latency", self.latency), _listed("devices", self.devices)
        self.tables = [self.tables] if isinstance(self.tables, str | PathLike) else list(self.tables)
        self.algo = self.algo.lower()
        self.accuracy_proxy = self.accuracy_proxy.lower() if self.accuracy_proxy else self.accuracy_proxy
        for name, low in (
            ("top_k", 1), ("trials", 1), ("population", 4), ("generations", 0), ("refine", 0), ("samples", 5), ("seed", 0)
        ):  # fmt: skip
            check_range(option_name(name), getattr(self, name), ge=low)
        check_range(option_name("tie"), self.tie, ge=0, hint="(points of predicted accuracy)")
        cost_bounds(self.flops, self.params)  # read again by prepare; a bad count fails here, before any work
        if self.storage is not None and not self.storage.strip():
            raise UserError(
                f"{option_name('storage')} is empty (an unset shell variable?); give a journal file or database URL, "
                "or drop it."
            )
        if self.storage and not self.study:
            raise UserError(
                f"{option_name('storage')} needs {option_name('study')} NAME so that every worker joins the same study."
            )
        if self.study and not self.storage:
            raise UserError(
                f"{option_name('study')} '{self.study}' names a study in a shared {option_name('storage')}; give "
                f"{option_name('storage')} too, or drop {option_name('study')}."
            )
        if self.refine and self.storage:
            raise UserError(
                f"{option_name('refine')} refits the accuracy predictor for this run only, and "
                f"{option_name('storage')} shares an Optuna study: each round would store trials scored with its "
                "refit in the study, beside trials scored with other predictors. Refine without a shared study "
                f"(drop {option_name('storage')} and {option_name('study')}), or run the shared study first and then "
                f"a local search with {option_name('refine')}."
            )
        self._check_proxy()

    def _check_proxy(self) -> None:
        """Refuse what ``--accuracy-proxy macs`` would ignore (it measures and predicts no accuracy)."""
        if self.accuracy_proxy is None:
            return
        if self.accuracy_proxy not in ACCURACY_PROXIES:
            raise UserError(
                f"{option_name('accuracy_proxy')} '{self.accuracy_proxy}' is unknown; the only proxy is 'macs'."
                + did_you_mean(self.accuracy_proxy, ACCURACY_PROXIES)
            )
        if self.refit_predictor:
            raise UserError(
                f"{option_name('refit_predictor')} fits the accuracy predictor, and {option_name('accuracy_proxy')} "
                "macs uses none; drop one of them."
            )
        if self.data is not None:
            raise UserError(
                f"{option_name('data')} '{self.data}' is where subnet accuracy is measured, and "
                f"{option_name('accuracy_proxy')} macs measures none; drop {option_name('data')}, or drop "
                f"{option_name('accuracy_proxy')} to search on predicted accuracy."
            )
        if self.refine:
            raise UserError(
                f"{option_name('refine')} measures the best subnets' accuracy to correct the predictor, and "
                f"{option_name('accuracy_proxy')} macs uses none; drop one of them."
            )


def check_algorithm_options(opts: SearchOptions) -> None:
    """Refuse an unknown ``--algo``, a shared study (``--storage``) for an algorithm that is no Optuna sampler, and
    budget options the chosen algorithm would silently ignore: before anything is loaded."""
    if opts.algo not in ALGORITHMS:
        raise UserError(
            f"unknown {option_name('algo')} '{opts.algo}'; choose {', '.join(ALGORITHMS[:-1])} or {ALGORITHMS[-1]} "
            "(tpe and nsga2 are Optuna's samplers)." + did_you_mean(opts.algo, ALGORITHMS)
        )
    if opts.storage and opts.algo not in ("tpe", "nsga2"):
        raise UserError(
            f"{option_name('storage')} shares an Optuna study; use it with {option_name('algo')} tpe or nsga2, "
            f"not {opts.algo}."
        )
    defaults = {f.name: f.default for f in fields(SearchOptions)}
    shaped = [option_name(k) for k in ("population", "generations") if getattr(opts, k) != defaults[k]]
    if opts.algo == "evolution" and opts.trials is not None:
        raise UserError(
            f"{option_name('trials')} sets the budget of {option_name('algo')} tpe, nsga2 or random; evolution's "
            f"budget is {option_name('population')} × {option_name('generations')}. Drop {option_name('trials')}, or "
            "pick one of those algorithms."
        )
    if opts.algo in ("tpe", "nsga2"):
        refuse_options(
            shaped,
            f"{{given}} shape{{s}} the evolution; {option_name('algo')} {opts.algo} runs {option_name('trials')} "
            f"trials (default 300). Drop {{given}}, or use {option_name('trials')}.",
        )
    if opts.algo == "random" and opts.trials is not None:
        refuse_options(
            shaped,
            f"{option_name('algo')} random runs {option_name('trials')} trials; {{given}} only set{{s}} its default "
            "budget (population × generations), so give one or the other.",
        )
