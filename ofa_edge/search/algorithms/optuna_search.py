"""Optuna TPE and NSGA-II over the genome, with the problem's bounds as Optuna constraints.

Optuna >= 5 records constraints per trial with ``trial.set_constraint(name, value)`` (feasible
when every value is <= 0) and its samplers read them; older versions take a
``constraints_func`` on the sampler. The installed version is feature-detected. Each bound
is reported as its relative excess ``value / limit - 1``. A study can live in a shared
storage so several processes (or machines) optimise it together.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ofa_edge.errors import Interrupted, UserError
from ofa_edge.search.algorithms.base import SearchResult
from ofa_edge.search.problem import SearchProblem
from ofa_edge.search.progress import progress_bar
from ofa_edge.search.storage import open_storage, redact_password
from ofa_edge.space.genome import DEPTH, EXPAND, GENOME_LEN, KERNEL, RES
from ofa_edge.space.search_space import NUM_BLOCKS, NUM_STAGES

_ATTR = "ofa_edge_problem"
_CONSTRAINTS = "constraints"


def has_set_constraint() -> bool:
    """True where the installed Optuna has ``Trial.set_constraint`` (Optuna 5)."""
    import optuna

    return hasattr(optuna.trial.Trial, "set_constraint")


@dataclass
class OptunaSearch:
    """``sampler``: ``tpe`` (maximise accuracy) or ``nsga2`` (maximise accuracy, minimise the
    first bounded metric: a Pareto front). ``fingerprint`` (space, bounds, supernet) guards a
    shared study against being reused for a different problem; the study's trials are scored
    again with this run's tables and predictor before they are returned."""

    sampler: str = "tpe"
    storage: str | None = None
    study_name: str | None = None
    fingerprint: dict[str, Any] = field(default_factory=dict)
    progress: bool = False

    @property
    def name(self) -> str:
        return self.sampler

    @property
    def shown_storage(self) -> str | None:
        """The storage as messages and reports show it: its URL's password masked."""
        return self.storage and redact_password(self.storage)

    def search(self, problem: SearchProblem, budget: int, rng: np.random.Generator) -> SearchResult:
        import optuna

        # ERROR: a trial that raises (Ctrl-C included) is logged by Optuna as a warning with its traceback,
        # then re-raised from optimize; the CLI reports it once, in one line
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        start = time.perf_counter()
        seed = int(rng.integers(2**31 - 1))
        use_set = has_set_constraint()
        sampler = self._sampler(seed, None if use_set else _constraints_from_attrs)
        directions = ["maximize"] if self.sampler == "tpe" else ["maximize", "minimize"]
        stale: list[int] = []  # numbers of the dead workers' trials this process marked FAIL
        storage = open_storage(self.storage, on_stale=lambda _study, trial: stale.append(trial.number))
        try:
            study = optuna.create_study(
                storage=storage,
                study_name=self.study_name,
                sampler=sampler,
                directions=directions,
                load_if_exists=True,
            )
        except ValueError as e:  # e.g. existing study with other directions
            raise UserError(f"cannot use study '{self.study_name}': {e}") from None
        self._check_objectives(study, len(directions))
        self._check_fingerprint(study)
        space = problem.space
        res_choices = list(problem.resolutions)
        self._check_resolutions(study, res_choices)
        second = problem.bound_metrics()[0] if problem.bounds else "macs"

        def objective(trial: optuna.Trial) -> float | tuple[float, float]:
            g = _suggest(trial, space, res_choices)
            scores = problem.evaluate(g, metrics=list(dict.fromkeys([*problem.bound_metrics(), second])))
            excess = [float(scores.metrics[b.metric][0] / b.limit - 1) for b in problem.bounds]
            if use_set:
                for b, v in zip(problem.bounds, excess, strict=True):
                    trial.set_constraint(b.metric, v)
            else:
                trial.set_user_attr(_CONSTRAINTS, excess)
            acc = float(scores.accuracy[0])
            return acc if self.sampler == "tpe" else (acc, float(scores.metrics[second][0]))

        try:
            with progress_bar(f"{self.sampler} trials", budget, self.progress) as advance:
                study.optimize(objective, n_trials=budget, gc_after_trial=False, callbacks=[lambda *_: advance()])
        except KeyboardInterrupt:
            if self.storage is None:
                raise Interrupted(
                    f"interrupted; nothing was kept: without --storage the --algo {self.sampler} study lives in memory, "
                    "and running the same command again starts it afresh. To make a search resumable, give it a "
                    "storage, e.g. --storage ./study.journal --study NAME: the same command then adds trials to it."
                ) from None
            raise
        genomes = _archive(study, space)
        # Scored again here, not read from the trials: trials of an earlier run or another worker of a
        # shared study were scored with their tables and predictor, which may differ from these.
        scores = problem.evaluate(genomes, metrics=problem.bound_metrics())
        accs, feas = scores.accuracy, scores.feasible
        history = list(np.fmax.accumulate(np.where(feas, accs, np.nan))) if len(accs) else []
        return SearchResult(
            self.name,
            genomes,
            accs,
            feas,
            budget,
            time.perf_counter() - start,
            [float(h) for h in history],
            {
                "study": self.study_name,  # None: an in-memory study, whose generated name means nothing
                "storage": self.shown_storage,
                "trials_in_study": len(accs),
                "stale_trials_failed": len(stale),
                "constraint_api": "Trial.set_constraint" if use_set else "constraints_func",
            },
        )

    def _sampler(self, seed: int, constraints_func: Any) -> Any:
        """The sampler, seeded from ``seed`` and the number of this worker's first trial (:mod:`.trial_seeded`):
        workers of a shared study sample apart even when given one ``--seed``."""
        import optuna

        from ofa_edge.search.algorithms.trial_seeded import TrialSeededSampler

        kw = {"constraints_func": constraints_func} if constraints_func else {}
        if self.sampler == "tpe":
            return TrialSeededSampler(lambda s: optuna.samplers.TPESampler(multivariate=True, seed=s, **kw), seed)
        if self.sampler == "nsga2":
            return TrialSeededSampler(lambda s: optuna.samplers.NSGAIISampler(population_size=50, seed=s, **kw), seed)
        raise UserError(f"unknown Optuna sampler '{self.sampler}'; use tpe or nsga2.")

    def _check_objectives(self, study: Any, count: int) -> None:
        """Refuse a shared study of the other sampler: Optuna loads it whatever its directions, then fails
        every trial whose number of values differs from them."""
        if len(study.directions) != count:
            made_by = "tpe" if len(study.directions) == 1 else "nsga2"
            raise UserError(
                f"study '{study.study_name}' in {self.shown_storage} was made by --algo {made_by} "
                f"({len(study.directions)} objective(s)), and --algo {self.sampler} optimises {count}. Join it with "
                f"--algo {made_by}, or use another --study name."
            )

    def _check_fingerprint(self, study: Any) -> None:
        if not self.fingerprint:
            return
        existing = study.user_attrs.get(_ATTR)
        if existing is None:
            try:
                study.set_user_attr(_ATTR, self.fingerprint)
            except Exception:  # noqa: BLE001 - a concurrent worker set it first; compare with theirs
                existing = study.user_attrs.get(_ATTR)
        if existing is not None and existing != self.fingerprint:
            raise UserError(
                f"study '{study.study_name}' in {self.shown_storage} was made for another search: "
                f"{_differences(existing, self.fingerprint)}. Use another --study name."
            )

    def _check_resolutions(self, study: Any, choices: list[int]) -> None:
        """Refuse a shared study whose trials chose among other resolutions (tables covering others made it,
        or join it now): Optuna would fail every trial of this run ('dynamic value space')."""
        made = next((t.distributions["resolution"] for t in study.get_trials(deepcopy=False) if t.distributions), None)
        if made is not None and list(made.choices) != choices:
            there, here = (", ".join(map(str, c)) for c in (made.choices, choices))
            raise UserError(
                f"study '{study.study_name}' in {self.shown_storage} was made for another search: resolutions "
                f"{there} there, {here} here (the resolutions every latency table covers). Search with tables "
                "covering the study's resolutions, or use another --study name."
            )


def _differences(there: dict[str, Any], here: dict[str, Any]) -> str:
    """What a study's fingerprint (``there``) and this search's (``here``) differ in, one clause per field."""

    def show(key: str, value: Any) -> str:
        if value is None:
            return "none"
        if key == "bounds":
            return ", ".join(f"{metric} <= {limit:g}" for metric, limit in value) or "none"
        return f"supernet {value[:12]}" if key == "accuracy" and len(str(value)) == 64 else str(value)

    names = {"accuracy": "ranked by"}
    keys = [k for k in dict.fromkeys([*there, *here]) if there.get(k) != here.get(k)]
    return "; ".join(f"{names.get(k, k)} {show(k, there.get(k))} there, {show(k, here.get(k))} here" for k in keys)


def _constraints_from_attrs(trial: Any) -> list[float]:
    return list(trial.user_attrs.get(_CONSTRAINTS, [0.0]))


def _suggest(trial: Any, space: Any, res_choices: list[int]) -> np.ndarray:
    params = {"resolution": trial.suggest_categorical("resolution", res_choices)}
    params |= {f"d{s}": trial.suggest_categorical(f"d{s}", list(space.depths)) for s in range(NUM_STAGES)}
    for b in range(NUM_BLOCKS):  # the order Optuna has always seen: k, e per block
        params[f"k{b}"] = trial.suggest_categorical(f"k{b}", list(space.kernels))
        params[f"e{b}"] = trial.suggest_categorical(f"e{b}", list(space.expands))
    return _genome(space, params)[None, :]


def _genome(space: Any, p: dict[str, int]) -> np.ndarray:
    """The genome of a trial's parameters (resolution, d<stage>, k<block>, e<block>)."""
    g = np.zeros(GENOME_LEN, dtype=np.uint8)
    g[RES] = space.resolutions.index(p["resolution"])
    g[DEPTH] = [space.depths.index(p[f"d{s}"]) for s in range(NUM_STAGES)]
    g[KERNEL] = [space.kernels.index(p[f"k{b}"]) for b in range(NUM_BLOCKS)]
    g[EXPAND] = [space.expands.index(p[f"e{b}"]) for b in range(NUM_BLOCKS)]
    return g


def _archive(study: Any, space: Any) -> np.ndarray:
    """The genomes of every completed trial of the study (all workers')."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return np.array([_genome(space, t.params) for t in trials], dtype=np.uint8).reshape(-1, GENOME_LEN)
