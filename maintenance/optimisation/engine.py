"""The optimisation engine's statistics: pure numpy/scipy, no Django, no randomness.

Every function takes plain numbers and returns plain numbers (or small dataclasses of them),
so the same inputs always give the same draft and each figure can be recomputed by hand:

- Weibull life fit by maximum likelihood with right-censoring (`weibull_fit`), through
  `scipy.stats.weibull_min.fit` on `scipy.stats.CensoredData` with the location fixed at 0.
- The cost-optimal age-replacement interval (`optimal_interval`): t* minimising the long-run
  cost per unit of time  C(t) = (Cp·R(t) + Cf·(1 - R(t))) / ∫₀ᵗ R(x) dx  (Barlow & Proschan),
  the integral by `scipy.integrate.quad`, the minimum by `scipy.optimize.minimize_scalar`
  (bounded Brent) inside the bracket a log-spaced scan finds; then the better of the two
  whole units around it. Run to failure costs Cf / MTTF with MTTF = η·Γ(1 + 1/β).
- `frequency_analysis`: the spec's rules (≥ 5 failures: Weibull; β ≤ 1: preventive
  replacement does not pay; 3-4 failures: MTBF - 1sigma; fewer: nothing).
- `usage_rate`: least-squares line through a counter's cumulative usage (`linregress`).
- `balance_workload`: greedy reassignment, longest unit first, to the least-loaded eligible
  technician, kept only when it lowers the peak load ratio.
- `route_companions`: plans due inside a tolerance window at the same location or within
  1 km (haversine).

Units are whatever the caller passes (days for calendar plans, counter units for counters).
"""

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import integrate, optimize, special, stats

MIN_WEIBULL_FAILURES = 5
MIN_MTBF_FAILURES = 3
EARTH_RADIUS_KM = 6371.0088
ROUTE_RADIUS_KM = 1.0
# Ages are floored at this (in the caller's unit): a failure at the instant of a renewal
# would otherwise have age 0 and an infinite log-likelihood.
MIN_AGE = 1e-3
# Bounded work: each pass looks at every unit once.
MAX_WORKLOAD_PASSES = 20
# Steeper than this is not a fit but a sign of (nearly) identical ages.
MAX_BETA = 50.0
SIGMA = "\u03c3"  # escaped: ruff flags the letter as confusable


def confidence_from_failures(n_failures: int) -> float:
    """n / (n + 10): 5 failures → 0.33, 20 → 0.67, 90 → 0.9. Simple and monotone."""
    return round(n_failures / (n_failures + 10), 2)


# --- Weibull life model ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WeibullFit:
    beta: float  # shape: > 1 wear-out, = 1 random, < 1 infant mortality
    eta: float  # scale (characteristic life: 63.2 % have failed by then)
    n_failures: int
    n_suspensions: int
    log_likelihood: float

    @property
    def mttf(self) -> float:
        return weibull_mean(self.beta, self.eta)


def weibull_reliability(t, beta: float, eta: float):
    """R(t) = exp(-(t/η)^β)."""
    return np.exp(-np.power(np.asarray(t, dtype=float) / eta, beta))


def weibull_mean(beta: float, eta: float) -> float:
    return float(eta * special.gamma(1.0 + 1.0 / beta))


def weibull_log_likelihood(
    failures: Sequence[float], suspensions: Sequence[float], beta: float, eta: float
) -> float:
    """Σ log f(tᵢ) over failures + Σ log R(sⱼ) over suspensions."""
    f = np.maximum(np.asarray(failures, dtype=float), MIN_AGE)
    s = np.maximum(np.asarray(suspensions, dtype=float), MIN_AGE)
    return float(
        np.sum(stats.weibull_min.logpdf(f, beta, scale=eta))
        + np.sum(stats.weibull_min.logsf(s, beta, scale=eta))
    )


def weibull_fit(failures: Sequence[float], suspensions: Sequence[float] = ()) -> WeibullFit:
    """Maximum-likelihood Weibull (location 0) with right-censored suspensions."""
    f = np.maximum(np.asarray(failures, dtype=float), MIN_AGE)
    s = np.maximum(np.asarray(suspensions, dtype=float), MIN_AGE)
    if len(f) < 2:
        raise ValueError("a Weibull fit needs at least two failures")
    if np.ptp(f) <= 1e-9 * float(f.max()):
        raise ValueError("the ages at failure are all the same: no spread to fit")
    data = stats.CensoredData(uncensored=f, right=s)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # Warnings of the optimiser's excursions are not results; the checks below are.
        warnings.simplefilter("ignore", RuntimeWarning)
        # A start near the answer (the uncensored ages' fit) keeps the optimiser fast.
        start_beta, _, start_eta = stats.weibull_min.fit(f, floc=0)
        beta, _, eta = stats.weibull_min.fit(data, start_beta, floc=0, scale=start_eta)
    beta, eta = float(beta), float(eta)
    if not (math.isfinite(beta) and math.isfinite(eta) and 0 < beta <= MAX_BETA and eta > 0):
        raise ValueError(f"the Weibull fit did not converge (beta {beta:.4g}, eta {eta:.4g})")
    return WeibullFit(
        beta=beta,
        eta=eta,
        n_failures=len(f),
        n_suspensions=len(s),
        log_likelihood=weibull_log_likelihood(f, s, beta, eta),
    )


# --- cost-optimal age replacement -----------------------------------------------------------------


def expected_cycle_length(t: float, beta: float, eta: float) -> float:
    """∫₀ᵗ R(x) dx: the mean time a renewal cycle lasts when replacing at age t."""
    value, _ = integrate.quad(
        lambda x: _reliability(x, beta, eta), 0.0, t, limit=200, epsabs=0, epsrel=1e-10
    )
    return value


def _reliability(t: float, beta: float, eta: float) -> float:
    """R(t) for one age, without overflow for steep shapes (R is then simply 0)."""
    z = beta * math.log(t / eta) if t > 0 else -math.inf
    return math.exp(-math.exp(z)) if z < 700 else 0.0


def cost_rate(t: float, beta: float, eta: float, cp: float, cf: float) -> float:
    """Long-run cost per unit of time when replacing at age t (or at failure before)."""
    r = _reliability(t, beta, eta)
    return (cp * r + cf * (1.0 - r)) / expected_cycle_length(t, beta, eta)


def run_to_failure_cost_rate(beta: float, eta: float, cf: float) -> float:
    return cf / weibull_mean(beta, eta)


@dataclass(frozen=True)
class OptimalInterval:
    t_exact: float  # the continuous minimiser
    t_whole: int  # the better of the two whole units around it
    cost_rate: float  # at t_whole
    cost_rate_run_to_failure: float
    interior: bool  # False when the cost keeps falling towards run-to-failure


def optimal_interval(beta: float, eta: float, cp: float, cf: float) -> OptimalInterval:
    """t* = argmin C(t); requires β > 1 and Cf > Cp (otherwise there is no finite optimum)."""
    if not (beta > 1 and cf > cp > 0):
        raise ValueError("a finite optimum needs beta > 1 and failure_cost > preventive_cost > 0")
    low, high = eta * 1e-4, eta * 20.0

    def rate(t: float) -> float:
        return cost_rate(t, beta, eta, cp, cf)

    # Bracket the minimum on a log-spaced scan (C is unimodal for β > 1, but its far tail is
    # flat enough to mislead a bounded search started on the whole range), then refine.
    scan = np.geomspace(low, high, 60)
    values = [rate(t) for t in scan]
    best = int(np.argmin(values))
    lo, hi = scan[max(best - 1, 0)], scan[min(best + 1, len(scan) - 1)]
    result = optimize.minimize_scalar(
        rate, bounds=(lo, hi), method="bounded", options={"xatol": 1e-9 * eta}
    )
    t_exact = float(result.x)
    candidates = {max(1, math.floor(t_exact)), max(1, math.ceil(t_exact))}
    t_whole = min(sorted(candidates), key=rate)
    rtf = run_to_failure_cost_rate(beta, eta, cf)
    return OptimalInterval(
        t_exact=t_exact,
        t_whole=int(t_whole),
        cost_rate=rate(t_whole),
        cost_rate_run_to_failure=rtf,
        interior=best < len(scan) - 1 and rate(t_whole) < rtf,
    )


# --- the frequency rules --------------------------------------------------------------------------


@dataclass(frozen=True)
class FrequencyResult:
    """What the failure history says about the interval (`proposed` None: no item)."""

    method: str  # weibull_optimal | weibull_no_benefit | weibull_no_costs | mtbf | insufficient
    proposed: int | None
    rationale: str
    confidence: float
    data: dict = field(default_factory=dict)


def _r(value: float, places: int = 4) -> float:
    return float(round(value, places))


def mtbf_minus_sigma(ages: Sequence[float]) -> tuple[float, float, float]:
    """(mean, sample standard deviation (ddof 1), mean - 1sigma) of the ages at failure."""
    values = np.asarray(ages, dtype=float)
    mean = float(values.mean())
    sigma = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return mean, sigma, mean - sigma


def frequency_analysis(
    failures: Sequence[float],
    suspensions: Sequence[float],
    *,
    preventive_cost: float | None,
    failure_cost: float | None,
    unit: str = "days",
    per: str = "day",
    weibull: bool = True,
) -> FrequencyResult:
    """Apply the spec's rules to ages at failure and at preventive renewal (suspensions).

    `weibull=False` skips the fit (used when the fit is degenerate: MTBF - 1 sigma instead)."""
    n_f, n_s = len(failures), len(suspensions)
    base = {"n_failures": n_f, "n_suspensions": n_s, "unit": unit}
    if n_f < MIN_MTBF_FAILURES:
        return FrequencyResult(
            method="insufficient",
            proposed=None,
            rationale=(
                f"{n_f} failure(s) with a known age; at least {MIN_MTBF_FAILURES} are needed "
                f"for an estimate and {MIN_WEIBULL_FAILURES} for a Weibull fit"
            ),
            confidence=0.0,
            data=base,
        )
    if n_f < MIN_WEIBULL_FAILURES or not weibull:
        return _mtbf_rule(failures, base, unit=unit, per=per, too_few=weibull)
    try:
        fit = weibull_fit(failures, suspensions)
    except (ValueError, OverflowError, FloatingPointError) as exc:
        # Degenerate ages (all alike): the MTBF rule still says something sensible.
        fallback = _mtbf_rule(failures, base, unit=unit, per=per, too_few=False)
        fallback.data["weibull_error"] = str(exc)
        return fallback
    return _weibull_rule(fit, base, preventive_cost, failure_cost, unit=unit, per=per)


def _t_star_key(unit: str) -> str:
    return "t_star_days" if unit == "days" else "t_star"


def _mtbf_rule(
    failures: Sequence[float], base: dict, *, unit: str, per: str, too_few: bool
) -> FrequencyResult:
    """3-4 failures (or ages too alike to fit): service at MTBF - 1 sigma."""
    n_f = len(failures)
    mean, sigma, value = mtbf_minus_sigma(failures)
    why = (
        f"only {n_f} failures, too few for a Weibull fit"
        if too_few
        else f"{n_f} failures at ages too alike for a Weibull fit"
    )
    proposed = max(1, math.floor(value)) if value >= 1 else None
    data = {
        **base,
        "method": "mtbf_minus_one_sigma",
        "ages_at_failure": [_r(a) for a in failures],
        "mtbf": _r(mean),
        "sigma": _r(sigma),
        "mtbf_minus_sigma": _r(value),
        _t_star_key(unit): proposed,
    }
    if proposed is None:
        return FrequencyResult(
            method="insufficient",
            proposed=None,
            rationale=(
                f"{n_f} failures (mean {mean:.4g} {unit}, {SIGMA} {sigma:.4g}): "
                f"MTBF - 1{SIGMA} is under one {per}, so no interval is proposed"
            ),
            confidence=0.0,
            data=data,
        )
    return FrequencyResult(
        method="mtbf",
        proposed=proposed,
        rationale=(
            f"{why}: they came on average every "
            f"{mean:.0f} {unit} ({SIGMA} {sigma:.0f}); servicing every {proposed} {unit} "
            f"(mean - 1{SIGMA}) comes before most of them"
        ),
        confidence=round(confidence_from_failures(n_f) / 2, 2),
        data=data,
    )


def _weibull_rule(
    fit: WeibullFit,
    base: dict,
    preventive_cost: float | None,
    failure_cost: float | None,
    *,
    unit: str,
    per: str,
) -> FrequencyResult:
    """5 failures or more: no benefit (β ≤ 1), no costs to weigh, or the cost-optimal t*."""
    data = {
        **base,
        "method": "weibull_mle_right_censored",
        "beta": _r(fit.beta),
        "eta": _r(fit.eta),
        "mttf": _r(fit.mttf),
        "log_likelihood": _r(fit.log_likelihood),
        _t_star_key(unit): None,
        "cost_rate_at_t_star": None,
        "cost_rate_run_to_failure": None,
        "preventive_cost": preventive_cost,
        "failure_cost": failure_cost,
    }
    confidence = confidence_from_failures(fit.n_failures)
    if fit.beta <= 1:
        return FrequencyResult(
            method="weibull_no_benefit",
            proposed=None,
            rationale=(
                f"failures do not rise with age (β = {fit.beta:.1f} ≤ 1): they strike at random "
                f"or early in life, so preventive replacement does not pay; servicing more "
                "often would not prevent them, so no shorter interval is proposed"
            ),
            confidence=confidence,
            data=data,
        )
    costs_known = preventive_cost is not None and failure_cost is not None
    if not costs_known or not (failure_cost > preventive_cost > 0):
        why = (
            "set preventive_cost and failure_cost on the plan to find the cost-optimal interval"
            if not costs_known
            else "a failure does not cost more than a preventive task, so no interval pays"
        )
        return FrequencyResult(
            method="weibull_no_costs",
            proposed=None,
            rationale=(
                f"failures rise with age (β = {fit.beta:.1f}, η = {fit.eta:.0f} {unit}); {why}"
            ),
            confidence=confidence,
            data=data,
        )
    return _cost_optimal_rule(fit, data, preventive_cost, failure_cost, unit=unit, per=per)


def _cost_optimal_rule(
    fit: WeibullFit, data: dict, preventive_cost: float, failure_cost: float, *, unit: str, per: str
) -> FrequencyResult:
    """Wear-out with costs: t* when it beats run-to-failure, else no benefit."""
    confidence = confidence_from_failures(fit.n_failures)
    best = optimal_interval(fit.beta, fit.eta, float(preventive_cost), float(failure_cost))
    data.update(
        {
            _t_star_key(unit): best.t_whole,
            "t_star_exact": _r(best.t_exact),
            "cost_rate_at_t_star": _r(best.cost_rate),
            "cost_rate_run_to_failure": _r(best.cost_rate_run_to_failure),
            "optimiser": "scipy.optimize.minimize_scalar(bounded) on quad-integrated cost rate",
        }
    )
    if not best.interior:
        return FrequencyResult(
            method="weibull_no_benefit",
            proposed=None,
            rationale=(
                f"failures rise with age (β = {fit.beta:.1f}) but a failure costs too little "
                f"more than a preventive task for any interval to beat run-to-failure "
                f"({best.cost_rate_run_to_failure:.2f}/{per}); preventive replacement does not pay"
            ),
            confidence=confidence,
            data=data,
        )
    return FrequencyResult(
        method="weibull_optimal",
        proposed=best.t_whole,
        rationale=(
            f"failures rise with age (β = {fit.beta:.1f}); replacing every {best.t_whole} "
            f"{unit} costs {best.cost_rate:.2f}/{per} against "
            f"{best.cost_rate_run_to_failure:.2f}/{per} run-to-failure"
        ),
        confidence=confidence,
        data=data,
    )


# --- counters -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageRate:
    rate: float  # units per day
    intercept: float
    r_squared: float
    n: int
    span_days: float


def cumulative_usage(values: Sequence[float], resets: Sequence[bool]) -> np.ndarray:
    """Meter readings as one increasing usage series: after a reset (meter replaced) the new
    meter's readings continue from the old meter's last value."""
    out = np.empty(len(values), dtype=float)
    offset = 0.0
    previous = None
    for index, (value, reset) in enumerate(zip(values, resets, strict=True)):
        if reset and previous is not None:
            offset += previous - value
        out[index] = value + offset
        previous = value
    return out


def usage_rate(days: Sequence[float], usage: Sequence[float]) -> UsageRate:
    """Least-squares slope of cumulative usage over time (days): units per day."""
    x = np.asarray(days, dtype=float)
    y = np.asarray(usage, dtype=float)
    if len(x) < 2 or float(x.max() - x.min()) <= 0:
        raise ValueError("a usage rate needs two readings at different times")
    fit = stats.linregress(x, y)
    r2 = float(fit.rvalue**2) if np.isfinite(fit.rvalue) else 1.0
    return UsageRate(
        rate=float(fit.slope),
        intercept=float(fit.intercept),
        r_squared=r2,
        n=len(x),
        span_days=float(x.max() - x.min()),
    )


# --- workload -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Worker:
    id: str
    capacity_minutes: int
    skills: frozenset = frozenset()
    active: bool = True


@dataclass(frozen=True)
class WorkUnit:
    """Work one assignment covers: an open task, or a plan's occurrences over the horizon."""

    id: str
    assignee_id: str
    minutes_by_day: tuple[tuple[int, float], ...]  # (day index in the horizon, minutes)

    @property
    def minutes(self) -> float:
        return float(sum(m for _, m in self.minutes_by_day))


@dataclass(frozen=True)
class Move:
    unit_id: str
    from_id: str
    to_id: str
    minutes: float


@dataclass
class WorkloadResult:
    moves: list[Move]
    peak_before: float
    peak_after: float
    peak_worker_before: str | None
    peak_day_before: int | None
    peak_worker_after: str | None
    peak_day_after: int | None
    worker_peaks_before: dict[str, float]
    worker_peaks_after: dict[str, float]


def eligible(worker: Worker, current: Worker | None) -> bool:
    """Who may take over work: active, with capacity, and every skill the current assignee
    has (plans and tasks carry no required skills, so the assignee's skills stand for them)."""
    required = current.skills if current is not None else frozenset()
    return worker.active and worker.capacity_minutes > 0 and required <= worker.skills


def _peak_cell(ratios: np.ndarray, ids: list[str]) -> tuple[float, str | None, int | None]:
    """The highest ratio and where it is (first worker in id order, then first day)."""
    if ratios.size == 0 or ratios.max() <= 0:
        return 0.0, None, None
    row, day = np.unravel_index(int(np.argmax(ratios)), ratios.shape)
    return float(ratios[row, day]), ids[row], int(day)


_EPS = 1e-9


def _spread(unit: WorkUnit, horizon_days: int) -> np.ndarray:
    """The unit's minutes per day over the horizon (days outside it are dropped)."""
    vector = np.zeros(horizon_days)
    for day, minutes in unit.minutes_by_day:
        if 0 <= day < horizon_days:
            vector[day] += minutes
    return vector


def _cells_at(matrix: np.ndarray, peak: float) -> int:
    """How many technician-days sit at the peak (0 when nothing is booked)."""
    return int((matrix >= peak - _EPS).sum()) if peak > 0 else 0


class _Roster:
    """The load ratios (technician x day) the greedy search moves units across."""

    def __init__(self, workers: Sequence[Worker], units: Sequence[WorkUnit], horizon_days: int):
        self.workers = sorted(workers, key=lambda w: w.id)
        self.ids = [w.id for w in self.workers]
        self.row_of = {w.id: i for i, w in enumerate(self.workers)}
        self.capacity = np.array([max(w.capacity_minutes, 1) for w in self.workers], dtype=float)
        self.vectors = {u.id: _spread(u, horizon_days) for u in units}
        loads = np.zeros((len(self.workers), horizon_days))
        for unit in units:
            if unit.assignee_id in self.row_of:
                loads[self.row_of[unit.assignee_id]] += self.vectors[unit.id]
        self.initial = loads / self.capacity[:, None]
        self.ratios = self.initial.copy()

    def best_target(self, source: int, vector: np.ndarray, days: np.ndarray) -> int | None:
        """The eligible technician whose own peak over the unit's days would stay lowest."""
        best = None
        for worker in self.workers:
            target = self.row_of[worker.id]
            if target == source or not eligible(worker, self.workers[source]):
                continue
            own = float((self.ratios[target, days] + vector[days] / self.capacity[target]).max())
            if best is None or own < best[0] - _EPS:
                best = (own, target)
        return None if best is None else best[1]

    def try_move(self, unit: WorkUnit) -> Move | None:
        """Move the unit when that lowers the peak (or leaves fewer cells at it)."""
        source = self.row_of.get(unit.assignee_id)
        vector = self.vectors[unit.id]
        days = np.nonzero(vector)[0]
        if source is None or len(days) == 0:
            return None
        peak = float(self.ratios.max())
        if self.ratios[source, days].max() < peak - _EPS:
            return None  # only work at the peak can lower it
        target = self.best_target(source, vector, days)
        if target is None:
            return None
        trial = self.ratios.copy()
        trial[source] -= vector / self.capacity[source]
        trial[target] += vector / self.capacity[target]
        new_peak = float(trial.max())
        if new_peak < peak - _EPS or (
            new_peak <= peak + _EPS and _cells_at(trial, peak) < _cells_at(self.ratios, peak)
        ):
            self.ratios = trial
            return Move(unit.id, self.ids[source], self.ids[target], unit.minutes)
        return None


def balance_workload(
    workers: Sequence[Worker], units: Sequence[WorkUnit], *, horizon_days: int
) -> WorkloadResult:
    """Greedy: take units longest first (ties by id); a unit of a technician at the peak on
    one of its days goes to the eligible technician whose own peak over those days would stay
    lowest, when the move lowers the roster's peak load ratio (or keeps it and leaves fewer
    technician-days at it, so a tie at the peak can be broken over two moves). Passes repeat
    until nothing moves (at most MAX_WORKLOAD_PASSES); a unit moves at most once. Kept only
    if the peak finally falls.

    Load ratio = minutes on a day / daily capacity (a technician without capacity counts
    each minute against one minute)."""
    roster = _Roster(workers, units, horizon_days)
    ids, before = roster.ids, roster.initial
    peak_before, who_before, day_before = _peak_cell(before, ids)
    order = sorted(units, key=lambda u: (-u.minutes, u.id))
    moved: dict[str, Move] = {}
    progress, passes = True, 0
    while progress and passes < MAX_WORKLOAD_PASSES:
        progress, passes = False, passes + 1
        for unit in order:
            if unit.id in moved:
                continue
            move = roster.try_move(unit)
            if move is not None:
                moved[unit.id] = move
                progress = True
    ratios = roster.ratios
    peak_after, who_after, day_after = _peak_cell(ratios, ids)
    moves = [moved[u.id] for u in order if u.id in moved]
    if peak_after >= peak_before - _EPS:
        moves, ratios = [], before
        peak_after, who_after, day_after = peak_before, who_before, day_before
    return WorkloadResult(
        moves=moves,
        peak_before=peak_before,
        peak_after=peak_after,
        peak_worker_before=who_before,
        peak_day_before=day_before,
        peak_worker_after=who_after,
        peak_day_after=day_after,
        worker_peaks_before={w: float(before[i].max(initial=0)) for i, w in enumerate(ids)},
        worker_peaks_after={w: float(ratios[i].max(initial=0)) for i, w in enumerate(ids)},
    )


# --- routes ---------------------------------------------------------------------------------------


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a sphere of the Earth's mean radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Site:
    asset_id: str
    location: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class RouteCandidate:
    plan_id: str
    due_hours: float  # hours from the anchor plan's due time (negative: earlier)
    sites: tuple[Site, ...]


@dataclass(frozen=True)
class RouteMatch:
    plan_id: str
    due_hours: float
    how: str  # "location" or "distance"
    asset_id: str  # the candidate's asset that matched
    near_asset_id: str  # the anchor plan's asset it matched
    distance_km: float | None


def site_match(
    a: Site, b: Site, radius_km: float = ROUTE_RADIUS_KM
) -> tuple[str, float | None] | None:
    """("location", km|None) for the same non-blank location, ("distance", km) within the
    radius, else None."""
    km = None
    if None not in (a.latitude, a.longitude, b.latitude, b.longitude):
        km = haversine_km(a.latitude, a.longitude, b.latitude, b.longitude)
    if a.location.strip() and a.location.strip().casefold() == b.location.strip().casefold():
        return "location", km
    if km is not None and km <= radius_km:
        return "distance", km
    return None


def route_companions(
    anchor_sites: Sequence[Site],
    tolerance_hours: float,
    candidates: Sequence[RouteCandidate],
    *,
    radius_km: float = ROUTE_RADIUS_KM,
) -> list[RouteMatch]:
    """Candidates due within ± tolerance of the anchor at a site matching one of its sites;
    a same-location match wins over a distance one, then the nearest. Sorted by due time."""
    matches = []
    for candidate in candidates:
        if abs(candidate.due_hours) > tolerance_hours + 1e-9:
            continue
        best = None
        for site in candidate.sites:
            for anchor in anchor_sites:
                found = site_match(anchor, site, radius_km)
                if found is None:
                    continue
                how, km = found
                key = (0 if how == "location" else 1, km if km is not None else 0.0)
                if best is None or key < best[0]:
                    best = (key, how, km, site.asset_id, anchor.asset_id)
        if best is not None:
            _, how, km, asset_id, near = best
            matches.append(
                RouteMatch(
                    plan_id=candidate.plan_id,
                    due_hours=candidate.due_hours,
                    how=how,
                    asset_id=asset_id,
                    near_asset_id=near,
                    distance_km=None if km is None else round(km, 3),
                )
            )
    return sorted(matches, key=lambda m: (m.due_hours, m.plan_id))
