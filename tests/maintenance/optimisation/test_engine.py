"""The engine's statistics against values computed another way (no Django, no database)."""

import math

import numpy as np
import pytest
from scipy import special, stats

from maintenance.optimisation import engine

# --- Weibull fit ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("beta", "eta"), [(2.5, 120.0), (1.4, 30.0), (4.0, 900.0)])
def test_it_recovers_weibull_parameters_from_complete_samples(beta, eta):
    rng = np.random.default_rng(20260301)
    ages = stats.weibull_min.rvs(beta, scale=eta, size=400, random_state=rng)
    fit = engine.weibull_fit(ages)
    assert fit.beta == pytest.approx(beta, rel=0.1)
    assert fit.eta == pytest.approx(eta, rel=0.05)
    assert (fit.n_failures, fit.n_suspensions) == (400, 0)


def _censored_sample(beta, eta, n, seed):
    rng = np.random.default_rng(seed)
    lives = stats.weibull_min.rvs(beta, scale=eta, size=n, random_state=rng)
    # Preventive renewals at random ages: the unit was replaced before it could fail.
    renewals = rng.uniform(0.2 * eta, 1.6 * eta, size=n)
    failed = lives <= renewals
    return lives[failed], renewals[~failed]


def test_it_recovers_weibull_parameters_with_suspensions():
    failures, suspensions = _censored_sample(3.0, 200.0, 600, seed=7)
    assert len(suspensions) > 150  # heavily censored
    fit = engine.weibull_fit(failures, suspensions)
    assert fit.beta == pytest.approx(3.0, rel=0.1)
    assert fit.eta == pytest.approx(200.0, rel=0.05)
    assert fit.n_suspensions == len(suspensions)
    # Dropping the suspensions biases the life downwards: they are what the method is for.
    naive = engine.weibull_fit(failures)
    assert naive.eta < 0.95 * fit.eta


def test_the_fit_is_the_maximum_of_the_censored_likelihood():
    failures, suspensions = _censored_sample(2.0, 50.0, 200, seed=11)
    fit = engine.weibull_fit(failures, suspensions)

    # Independent check: the log-likelihood written out by hand, not through scipy.stats.
    def loglik(beta, eta):
        f, s = np.asarray(failures), np.asarray(suspensions)
        logf = np.log(beta / eta) + (beta - 1) * np.log(f / eta) - (f / eta) ** beta
        return float(logf.sum() - ((s / eta) ** beta).sum())

    best = loglik(fit.beta, fit.eta)
    assert best == pytest.approx(fit.log_likelihood, rel=1e-9)
    for db, de in [(1.01, 1), (0.99, 1), (1, 1.01), (1, 0.99)]:
        assert loglik(fit.beta * db, fit.eta * de) < best


def test_the_fit_is_deterministic():
    failures, suspensions = _censored_sample(2.2, 80.0, 100, seed=3)
    assert engine.weibull_fit(failures, suspensions) == engine.weibull_fit(failures, suspensions)


# --- cost-optimal interval ------------------------------------------------------------------------


def _reference_optimum(beta, eta, cp, cf):
    """Dense trapezoid integration of R on a fine grid and a brute-force search over it."""
    x = np.linspace(0.0, 4.0 * eta, 400_001)
    r = np.exp(-((x / eta) ** beta))
    cycle = np.concatenate([[0.0], np.cumsum((r[1:] + r[:-1]) / 2 * np.diff(x))])
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = (cp * r + cf * (1 - r)) / cycle
    rate[0] = np.inf
    best = int(np.argmin(rate))
    rtf = cf / np.trapezoid(
        np.exp(-((np.linspace(0, 30 * eta, 600_001) / eta) ** beta)),
        np.linspace(0, 30 * eta, 600_001),
    )
    return x[best], rate[best], rtf, (x, rate)


@pytest.mark.parametrize(
    ("beta", "eta", "cp", "cf"),
    [
        (2.0, 100.0, 100.0, 1000.0),
        (3.5, 365.0, 500.0, 5000.0),
        (1.5, 50.0, 10.0, 200.0),
        (2.9, 120.0, 40.0, 150.0),
    ],
)
def test_it_finds_the_cost_optimal_interval(beta, eta, cp, cf):
    t_ref, rate_ref, rtf_ref, (grid, rates) = _reference_optimum(beta, eta, cp, cf)
    best = engine.optimal_interval(beta, eta, cp, cf)
    step = grid[1] - grid[0]
    assert best.t_exact == pytest.approx(t_ref, abs=max(2 * step, 1e-3 * t_ref))
    assert best.cost_rate_run_to_failure == pytest.approx(rtf_ref, rel=1e-6)
    assert best.cost_rate_run_to_failure == pytest.approx(
        cf / (eta * special.gamma(1 + 1 / beta)), rel=1e-12
    )
    # Whole days: the best of the integers around the optimum, by the reference's rates.
    assert best.t_whole in (math.floor(t_ref), math.ceil(t_ref))

    def ref_rate(t):
        return float(np.interp(t, grid, rates))

    for other in (best.t_whole - 1, best.t_whole + 1):
        assert ref_rate(best.t_whole) <= ref_rate(other) + 1e-9
    assert best.cost_rate == pytest.approx(ref_rate(best.t_whole), rel=1e-5)
    assert best.cost_rate >= rate_ref - 1e-9
    assert best.interior


def test_it_needs_wear_out_and_a_dearer_failure():
    with pytest.raises(ValueError):
        engine.optimal_interval(0.9, 100, 10, 100)
    with pytest.raises(ValueError):
        engine.optimal_interval(2.0, 100, 100, 100)


# --- the spec's rules -----------------------------------------------------------------------------


def _quantiles(beta, eta, n):
    # Deterministic "sample": evenly spaced quantiles of the distribution.
    return list(stats.weibull_min.ppf((np.arange(n) + 0.5) / n, beta, scale=eta))


def test_it_proposes_t_star_in_whole_days_with_a_readable_rationale():
    result = engine.frequency_analysis(
        _quantiles(2.9, 100.0, 30), [], preventive_cost=100.0, failure_cost=1000.0
    )
    assert result.method == "weibull_optimal"
    fit = engine.weibull_fit(_quantiles(2.9, 100.0, 30))
    best = engine.optimal_interval(fit.beta, fit.eta, 100.0, 1000.0)
    assert result.proposed == best.t_whole
    assert result.data["t_star_days"] == best.t_whole
    assert result.data["beta"] == pytest.approx(fit.beta, abs=1e-4)
    assert result.data["cost_rate_at_t_star"] == pytest.approx(best.cost_rate, abs=1e-4)
    assert set(result.data) >= {
        "beta",
        "eta",
        "n_failures",
        "n_suspensions",
        "t_star_days",
        "cost_rate_at_t_star",
        "cost_rate_run_to_failure",
    }
    assert result.rationale == (
        f"failures rise with age (β = {fit.beta:.1f}); replacing every {best.t_whole} days "
        f"costs {best.cost_rate:.2f}/day against {best.cost_rate_run_to_failure:.2f}/day "
        "run-to-failure"
    )
    assert result.confidence == pytest.approx(30 / 40)


def test_it_says_preventive_replacement_does_not_pay_when_beta_is_at_most_one():
    result = engine.frequency_analysis(
        _quantiles(0.7, 100.0, 25), [], preventive_cost=100.0, failure_cost=1000.0
    )
    assert result.method == "weibull_no_benefit"
    assert result.proposed is None
    assert "preventive replacement does not pay" in result.rationale
    assert result.data["beta"] < 1


def test_without_costs_it_reports_the_fit_but_proposes_nothing():
    result = engine.frequency_analysis(
        _quantiles(3.0, 100.0, 10), [], preventive_cost=None, failure_cost=None
    )
    assert result.method == "weibull_no_costs"
    assert result.proposed is None
    assert "preventive_cost" in result.rationale


@pytest.mark.parametrize(
    ("ages", "expected"),
    [
        ([100, 120, 80, 140], 84),  # mean 110, sample sd sqrt(2000/3) = 25.82 → 84.18
        ([50, 60, 70], 50),  # mean 60, sd 10
    ],
)
def test_it_uses_mtbf_minus_one_sigma_with_three_or_four_failures(ages, expected):
    result = engine.frequency_analysis(ages, [], preventive_cost=1.0, failure_cost=10.0)
    assert result.method == "mtbf"
    assert result.proposed == expected
    mean = sum(ages) / len(ages)
    sd = math.sqrt(sum((a - mean) ** 2 for a in ages) / (len(ages) - 1))
    assert result.data["mtbf"] == pytest.approx(mean)
    assert result.data["sigma"] == pytest.approx(sd, abs=1e-4)


def test_with_fewer_than_three_failures_there_is_no_proposal():
    result = engine.frequency_analysis([100, 120], [50], preventive_cost=1, failure_cost=10)
    assert result.method == "insufficient"
    assert result.proposed is None
    assert "2 failure(s)" in result.rationale


# --- counters -------------------------------------------------------------------------------------


def test_it_measures_the_usage_rate_by_least_squares():
    rng = np.random.default_rng(5)
    days = np.arange(0, 200, 1.0)
    usage = 1000 + 8.5 * days + rng.normal(0, 4, size=len(days))
    fit = engine.usage_rate(days, usage)
    slope, intercept = np.polyfit(days, usage, 1)  # the same line, another way
    assert fit.rate == pytest.approx(slope, rel=1e-9)
    assert fit.intercept == pytest.approx(intercept, rel=1e-9)
    assert fit.rate == pytest.approx(8.5, abs=0.05)
    assert fit.r_squared > 0.99


def test_a_meter_reset_continues_the_usage_series():
    values = [100, 200, 300, 10, 110, 210]
    resets = [False, False, False, True, False, False]
    assert list(engine.cumulative_usage(values, resets)) == [100, 200, 300, 300, 400, 500]


def test_the_usage_rate_needs_two_times():
    with pytest.raises(ValueError):
        engine.usage_rate([1.0, 1.0], [5, 6])


# --- workload -------------------------------------------------------------------------------------


def _unit(uid, who, *day_minutes):
    return engine.WorkUnit(id=uid, assignee_id=who, minutes_by_day=tuple(day_minutes))


def test_it_reassigns_the_longest_task_to_the_least_loaded_eligible_technician():
    workers = [
        engine.Worker("ann", 480, frozenset({"mech"})),
        engine.Worker("bob", 480, frozenset({"mech", "elec"})),
        engine.Worker("cat", 480, frozenset({"elec"})),  # lacks Ann's skill
        engine.Worker("dan", 480, frozenset({"mech"}), active=False),
        engine.Worker("eve", 240, frozenset({"mech"})),
    ]
    units = [
        _unit("t1", "ann", (0, 300)),
        _unit("t2", "ann", (0, 200)),
        _unit("t3", "ann", (0, 120)),
        _unit("t4", "bob", (0, 60)),
        _unit("t5", "eve", (0, 120)),
    ]
    result = engine.balance_workload(workers, units, horizon_days=30)
    assert result.peak_before == pytest.approx(620 / 480)
    assert (result.peak_worker_before, result.peak_day_before) == ("ann", 0)
    # t1 (longest) → Bob (360/480 = 0.75; Eve would reach 420/240). Then t2 cannot help:
    # Ann 120/480 but Bob 560/480 or Eve 320/240. t3 → Eve: Ann 200, Eve 240/240 = 1.0 > 0.75.
    assert [(m.unit_id, m.from_id, m.to_id) for m in result.moves] == [("t1", "ann", "bob")]
    assert result.peak_after == pytest.approx(0.75)
    assert result.peak_after < result.peak_before
    assert all(m.to_id not in ("cat", "dan") for m in result.moves)


def test_a_tie_at_the_peak_is_broken_over_several_moves():
    workers = [engine.Worker(w, 100) for w in ("a", "b", "c")]
    units = [_unit("x", "a", (0, 100)), _unit("y", "b", (0, 100)), _unit("z", "a", (0, 20))]
    result = engine.balance_workload(workers, units, horizon_days=1)
    assert result.peak_before == pytest.approx(1.2)
    assert result.peak_after == pytest.approx(1.0)
    assert result.peak_after < result.peak_before


def test_when_nothing_lowers_the_peak_it_proposes_nothing():
    workers = [engine.Worker("a", 100), engine.Worker("b", 100)]
    units = [_unit("x", "a", (0, 90)), _unit("y", "b", (0, 90))]
    result = engine.balance_workload(workers, units, horizon_days=1)
    assert result.moves == []
    assert result.peak_after == result.peak_before


# --- routes ---------------------------------------------------------------------------------------


def test_haversine_matches_the_spherical_law_of_cosines():
    def cosines(lat1, lon1, lat2, lon2):
        p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
        c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
        return engine.EARTH_RADIUS_KM * math.acos(c)

    paris_london = (48.8530, 2.3499, 51.5138, -0.0984)
    assert engine.haversine_km(*paris_london) == pytest.approx(cosines(*paris_london), rel=1e-9)
    assert engine.haversine_km(*paris_london) == pytest.approx(343, abs=1)
    # 0.009 degrees of latitude is about 1.0 km anywhere.
    assert engine.haversine_km(45.0, 7.0, 45.009, 7.0) == pytest.approx(1.0008, abs=1e-3)


def test_it_groups_plans_by_location_and_by_distance_within_the_window():
    anchor = [engine.Site("a0", "Plant 1", 45.0, 7.0)]
    candidates = [
        engine.RouteCandidate("same-place", 5.0, (engine.Site("a1", "plant 1 "),)),
        engine.RouteCandidate("same-place-late", 30.0, (engine.Site("a2", "Plant 1"),)),
        engine.RouteCandidate("near", -12.0, (engine.Site("a3", "Yard", 45.0045, 7.0),)),
        engine.RouteCandidate("far", 1.0, (engine.Site("a4", "Depot", 45.018, 7.0),)),
        engine.RouteCandidate("nowhere", 1.0, (engine.Site("a5", ""),)),
    ]
    matches = engine.route_companions(anchor, 24.0, candidates)
    assert [(m.plan_id, m.how) for m in matches] == [
        ("near", "distance"),
        ("same-place", "location"),
    ]
    near = matches[0]
    assert near.distance_km == pytest.approx(0.5, abs=0.01)
    assert (near.asset_id, near.near_asset_id) == ("a3", "a0")


def test_ages_too_alike_for_a_weibull_fit_fall_back_to_the_mtbf_rule():
    result = engine.frequency_analysis(
        [10, 10, 10, 10, 10, 10], [3], preventive_cost=1, failure_cost=10
    )
    assert result.method == "mtbf"
    assert result.proposed == 10
    assert "too alike" in result.rationale
    assert "weibull_error" in result.data


def test_a_steep_shape_does_not_overflow_the_cost_rate():
    best = engine.optimal_interval(45.0, 10.0, 1.0, 10.0)
    assert 8 <= best.t_exact <= 10
    assert best.cost_rate < best.cost_rate_run_to_failure
