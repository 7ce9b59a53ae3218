r"""Sample-complexity formulas of the paper and of the bound it improves on.

Every function returns the *shape* of a bound: the :math:`\widetilde O` hides constants and
polylogarithmic factors that the paper does not give, so each formula carries an explicit
constant ``c`` (default 1) and nothing else. Compare shapes (slopes on log axes, ratios as
one argument moves), never absolute values.

The values grow fast (BMR's :math:`(\Theta^2 P)^D` overflows a float for deep networks), so
each function computes the natural logarithm first and returns it when ``log=True``; with
``log=False`` it returns :math:`e^{\log}`, which may be ``inf``.

Pure Python (``math`` only): no torch, no randomness. The arguments are checked by the
torch-free half of the package's validators, ``diffedu._validation_scalars``.
"""

from __future__ import annotations

import math

from ._validation_scalars import (
    as_float,
    as_int,
    check_at_least,
    check_nonnegative,
    check_open_unit,
    check_positive,
)

__all__ = [
    "a2_approximation_level",
    "crossover_inverse_gamma",
    "sampling_error_budget",
    "samples_needed_bmr",
    "samples_needed_composed",
    "samples_needed_gppx",
    "samples_needed_per_time",
    "steps_for_discretisation",
    "steps_needed",
    "w2_coupling_bound",
]


def _theta(value) -> float:
    value = as_float(value, "Theta")
    if value <= 1:
        raise ValueError(f"Theta must be > 1 (so that log Theta > 0); got {value!r}")
    return value


def _out(log_value: float, log: bool) -> float:
    if log:
        return log_value
    try:
        return math.exp(log_value)
    except OverflowError:
        return math.inf


def w2_coupling_bound(gamma, m_2, d=1) -> float:
    r"""Upper bound on :math:`W_2(q_0, q_\gamma)` from the forward process's own coupling.

    The pair :math:`(x_0,\ x_\gamma = e^{-\gamma} x_0 + z)`, with
    :math:`z \sim \mathcal N(0, \sigma_\gamma^2 I_d)` independent of :math:`x_0`, is a coupling
    of :math:`q_0` and :math:`q_\gamma`, and the cross term vanishes because :math:`z` has mean 0:

    .. math::

        W_2(q_0, q_\gamma)^2 \le \mathbb E\|x_0 - x_\gamma\|^2
        = (1 - e^{-\gamma})^2\, m_2^2 + d\,\sigma_\gamma^2
        \le \gamma^2 m_2^2 + 2\gamma d .

    This is the :math:`O(\gamma m_2 + \sqrt{\gamma d})` closeness in the proof of Theorem C.2.

    Args:
        gamma: the time :math:`\gamma`, ``> 0``.
        m_2: root second moment :math:`m_2 = (\mathbb E\|x_0\|^2)^{1/2}` of :math:`q_0`, ``>= 0``.
        d: dimension, ``>= 1``.

    Returns:
        :math:`\big((1 - e^{-\gamma})^2 m_2^2 + d\,\sigma_\gamma^2\big)^{1/2}`, not squared.

    Used in: chapter 1, "Sampling with the exact score"; chapter 6, "Close in TV to something
    close in :math:`W_2`".
    """
    gamma = check_positive(gamma, "gamma")
    m_2 = check_nonnegative(m_2, "m_2")
    d = check_at_least(d, "d", 1)
    # sigma_gamma^2 = 1 - e^{-2 gamma}, written with expm1 for small gamma.
    return math.sqrt(math.expm1(-gamma) ** 2 * m_2**2 - d * math.expm1(-2.0 * gamma))


def sampling_error_budget(
    delta,
    eps,
    d,
    N,
    T,
    gamma,
    m_2,
    *,
    c_delta=1.0,
    c_eps=1.0,
    c_disc=1.0,
    c_init=1.0,
    terms=False,
):
    r"""The right-hand side of Corollary B.6: the TV budget of DDPM with :math:`D^\delta` scores.

    .. math::
        &c_\delta\,\delta
        + c_\varepsilon\,\varepsilon\sqrt{T + \log(1/\gamma)}
        \\
        &\quad {} + c_\text{disc}\sqrt{d/N}\,\big(T + \log(1/\gamma)\big)
        + c_\text{init}\big(\sqrt d + m_2\big)e^{-T}.

    Shapes only: the paper's constants are not known, so each term carries its own constant
    (all 1 by default). The four terms are the score mass :math:`\delta` where the error is
    uncontrolled, the score accuracy :math:`\varepsilon` elsewhere (as :math:`\varepsilon /
    \sigma_t` at time :math:`t`), the discretisation of :math:`N` steps of the early-stopped
    schedule, and starting from :math:`\mathcal N(0, I_d)` in place of :math:`q_T`.

    Args:
        delta: quantile mass in (0, 1).
        eps: scaled score accuracy, :math:`\ge 0`.
        d: dimension, :math:`\ge 1`.
        N: number of sampler steps, :math:`\ge 1`.
        T: horizon, :math:`> 0`.
        gamma: early-stopping time in (0, 1).
        m_2: the data scale :math:`m_2 = \sqrt{\mathbb E\|x_0\|^2}` (not squared), :math:`\ge 0`.
        c_delta, c_eps, c_disc, c_init: the constants, each :math:`\ge 0`.
        terms: also return the four terms.

    Returns:
        The sum, a Python float; with ``terms=True`` a pair ``(total, parts)`` where ``parts``
        is a dict with keys ``"delta"``, ``"eps"``, ``"disc"``, ``"init"``.

    Used in: chapter 4, "An experiment: scores that are terrible in :math:`L^2`".
    """
    delta = check_open_unit(delta, "delta")
    gamma = check_open_unit(gamma, "gamma")
    values = {"eps": eps, "m_2": m_2, "c_delta": c_delta, "c_eps": c_eps}
    values.update(c_disc=c_disc, c_init=c_init)
    values = {name: check_nonnegative(value, name) for name, value in values.items()}
    d = as_int(d, "d", minimum=1)
    N = as_int(N, "N", minimum=1)
    T = check_positive(T, "T")
    length = T + math.log(1.0 / gamma)  # T + log(1/gamma), the schedule's length
    parts = {
        "delta": values["c_delta"] * delta,
        "eps": values["c_eps"] * values["eps"] * math.sqrt(length),
        "disc": values["c_disc"] * math.sqrt(d / N) * length,
        "init": values["c_init"] * (math.sqrt(d) + values["m_2"]) * math.exp(-T),
    }
    total = sum(parts.values())
    return (total, parts) if terms else total


def steps_needed(d, eps, delta, gamma, m_2=1.0, *, c=1.0, log=False) -> float:
    r"""Number of DDPM steps of Lemma 1.3 / Theorem B.7.

    .. math::

        N = c\,\frac{d\,\big(T + \log\tfrac1\gamma\big)^2}{\varepsilon^2 + \delta^2},
        \qquad T = \max\Big(1,\ \log\frac{\sqrt d + m_2}{\varepsilon + \delta}\Big),

    the proof parameters of Theorem B.7 (the :math:`\max` with 1 is the proof's standing
    assumption :math:`T \ge 1` of Lemmas B.4 and B.5). With these :math:`N` steps and per-step
    accuracy :math:`D^{\delta/N}_{q_{T-t_k}} \le \varepsilon/\sigma_{T-t_k}`, DDPM is within
    :math:`\widetilde O(\delta + \varepsilon\sqrt{\log((d+m_2)/\gamma)})` TV of :math:`q_\gamma`.
    The theorem's constant and polylog factors are unknown; ``c`` stands for them.

    Args:
        d: dimension, ``>= 1``.
        eps: scaled score accuracy :math:`\varepsilon`, in (0, 1).
        delta: quantile mass :math:`\delta`, in (0, 1).
        gamma: early-stopping time :math:`\gamma`, in (0, 1).
        m_2: root second moment of :math:`q_0`, ``> 0``.
        c: the unknown constant, ``> 0``.
        log: return :math:`\log N` instead of :math:`N`.

    Returns:
        :math:`N` (a float, not rounded) or its natural logarithm.

    Used in: chapter 6, "Where each factor comes from" (the caution on the exponent of eps).
    """
    d = check_at_least(d, "d", 1)
    eps, delta = check_open_unit(eps, "eps"), check_open_unit(delta, "delta")
    gamma = check_open_unit(gamma, "gamma")
    m_2, c = check_positive(m_2, "m_2"), check_positive(c, "c")
    T = max(1.0, math.log((math.sqrt(d) + m_2) / (eps + delta)))
    log_n = (
        math.log(c)
        + math.log(d)
        + 2 * math.log(T + math.log(1 / gamma))
        - math.log(eps**2 + delta**2)
    )
    return _out(log_n, log)


def samples_needed_per_time(
    d, P, D, Theta, eps, delta_score, delta_train, m_2=1.0, *, c=1.0, log=False
) -> float:
    r"""Samples for one time's score to be :math:`D^{\delta}`-accurate: Lemma 1.4 / Lemma A.1.

    .. math::

        m = c\,\frac{(d + \log\frac{1}{\delta_{train}})\,P D}{\varepsilon^2\,\delta_{score}}
            \,\log\frac{\max(m_2, 1)\,\Theta}{\delta_{train}}.

    With this many samples the ERM of eq. (4) over ReLU networks of depth ``D`` with ``P``
    parameters bounded by ``Theta`` has :math:`D^{\delta_{score}}_{q_t}(\hat s_t, s_t) \le
    \varepsilon/\sigma_t` with probability :math:`1 - \delta_{train}`, *whatever* :math:`t`:
    no :math:`\sigma_t` appears. Constants and polylog factors are unknown; ``c`` stands for
    them.

    Args:
        d: dimension, ``>= 1``.
        P: number of parameters, ``>= 1``.
        D: depth, ``>= 1``.
        Theta: bound on each parameter, ``> 1``.
        eps: scaled score accuracy, in (0, 1).
        delta_score: quantile mass, in (0, 1).
        delta_train: failure probability of training, in (0, 1).
        m_2: root second moment of :math:`q_0`, ``> 0``.
        c: the unknown constant, ``> 0``.
        log: return :math:`\log m` instead of :math:`m`.

    Returns:
        :math:`m` or its natural logarithm.

    Used in: chapter 5, "From finite classes to networks"; chapter 6, "Where each factor comes
    from".
    """
    d, P, D = check_at_least(d, "d", 1), check_at_least(P, "P", 1), check_at_least(D, "D", 1)
    Theta, eps = _theta(Theta), check_open_unit(eps, "eps")
    delta_score = check_open_unit(delta_score, "delta_score")
    delta_train = check_open_unit(delta_train, "delta_train")
    m_2, c = check_positive(m_2, "m_2"), check_positive(c, "c")
    log_m = (
        math.log(c)
        + math.log(d + math.log(1 / delta_train))
        + math.log(P)
        + math.log(D)
        - 2 * math.log(eps)
        - math.log(delta_score)
        + math.log(math.log(max(m_2, 1.0) * Theta / delta_train))
    )
    return _out(log_m, log)


def samples_needed_gppx(d, P, D, Theta, eps, gamma, eps_exponent=3, *, c=1.0, log=False) -> float:
    r"""Samples for DDPM training as printed in Theorem 1.2 (and Theorem C.3).

    .. math::

        m = c\,\frac{d^2 P D}{\varepsilon^{a}}\,\log\Theta\,\log^3\frac1\gamma,
        \qquad a = \text{eps\_exponent}.

    The paper prints :math:`a = 3`; substituting its own step count (Theorem B.7 with
    :math:`\delta = \varepsilon`) into Lemma C.1 gives :math:`a = 5` (see
    :func:`samples_needed_composed`), hence the argument. Constants and polylog factors are
    unknown; ``c`` stands for them.

    Args:
        d: dimension, ``>= 1``.
        P: number of parameters, ``>= 1``.
        D: depth, ``>= 1``.
        Theta: bound on each parameter, ``> 1``.
        eps: TV accuracy :math:`\varepsilon`, in (0, 1).
        gamma: early-stopping time (the :math:`W_2` slack is :math:`\gamma m_2`), in (0, 1).
        eps_exponent: the power :math:`a` of :math:`1/\varepsilon`, ``> 0``.
        c: the unknown constant, ``> 0``.
        log: return :math:`\log m` instead of :math:`m`.

    Returns:
        :math:`m` or its natural logarithm.

    Used in: chapter 6, "Where each factor comes from" and "The two bounds side by side".
    """
    d, P, D = check_at_least(d, "d", 1), check_at_least(P, "P", 1), check_at_least(D, "D", 1)
    Theta, eps = _theta(Theta), check_open_unit(eps, "eps")
    gamma = check_open_unit(gamma, "gamma")
    a, c = check_positive(eps_exponent, "eps_exponent"), check_positive(c, "c")
    log_m = (
        math.log(c)
        + 2 * math.log(d)
        + math.log(P)
        + math.log(D)
        + math.log(math.log(Theta))
        + 3 * math.log(math.log(1 / gamma))
        - a * math.log(eps)
    )
    return _out(log_m, log)


def samples_needed_bmr(d, P, D, Theta, eps, gamma, *, c=1.0, log=False) -> float:
    r"""Samples for DDPM training by Block, Mroueh and Rakhlin, as restated in Appendix E.

    .. math::

        m = c\,\frac{d^{5/2}}{\gamma^3 \varepsilon^2}\,(\Theta^2 P)^D \sqrt D

    (Corollary E.2 summed over the steps; the :math:`\log\frac1\delta` factor is left in
    ``c``). It controls the L2 score error, and its :math:`W_2` slack is :math:`\gamma R` for
    data in a ball of radius :math:`R`. Constants and polylog factors are unknown; ``c``
    stands for them.

    Args:
        d: dimension, ``>= 1``.
        P: number of parameters, ``>= 1``.
        D: depth, ``>= 1``.
        Theta: bound on each parameter, ``> 1``.
        eps: TV accuracy, in (0, 1).
        gamma: early-stopping scale, in (0, 1).
        c: the unknown constant, ``> 0``.
        log: return :math:`\log m` instead of :math:`m` (use it: :math:`m` overflows
            for deep networks).

    Returns:
        :math:`m` (``inf`` on overflow) or its natural logarithm.

    Used in: chapter 6, "Where each factor comes from" and "The two bounds side by side".
    """
    d, P, D = check_at_least(d, "d", 1), check_at_least(P, "P", 1), check_at_least(D, "D", 1)
    Theta, eps = _theta(Theta), check_open_unit(eps, "eps")
    gamma, c = check_open_unit(gamma, "gamma"), check_positive(c, "c")
    log_m = (
        math.log(c)
        + 2.5 * math.log(d)
        + D * math.log(Theta**2 * P)
        + 0.5 * math.log(D)
        - 3 * math.log(gamma)
        - 2 * math.log(eps)
    )
    return _out(log_m, log)


def samples_needed_composed(
    d, P, D, Theta, eps, gamma, delta_train=0.01, m_2=1.0, *, c=1.0, log=False
) -> float:
    r"""Samples from composing the paper's own lemmas as in the proof of Theorem C.2.

    With :math:`L = \log\frac1\gamma`, the proof takes quantile mass
    :math:`\delta_{score} = \varepsilon`, per-step accuracy :math:`\varepsilon/\sqrt L`, and
    :math:`N` steps from Theorem B.7; Lemma C.1 then asks for :math:`N` times the per-time count
    of Lemma A.1:

    .. math::

        N &= N_{B.7}\big(d, \tfrac{\varepsilon}{\sqrt L}, \varepsilon, \gamma, m_2\big),

        m &= c\,N\cdot m_{A.1}\big(d, P, D, \Theta,
            \tfrac{\varepsilon}{\sqrt L}, \varepsilon, \delta_{train}, m_2\big),

    where :math:`N_{B.7}` is :func:`steps_needed` and :math:`m_{A.1}` is
    :func:`samples_needed_per_time`.

    Since :math:`N \propto d L^2/\varepsilon^2` and the per-time count
    :math:`\propto d\,PD\log\Theta\,L/\varepsilon^3`, this is
    :math:`d^2 PD \log\Theta\,L^3/\varepsilon^5` up to logarithms: the exponent 5, not the
    printed 3. Constants and polylog factors are unknown; ``c`` stands for them.

    Args:
        d, P, D, Theta, eps, gamma: as in :func:`samples_needed_gppx`.
        delta_train: failure probability of training, in (0, 1).
        m_2: root second moment of :math:`q_0`, ``> 0``.
        c: the unknown constant, ``> 0``.
        log: return :math:`\log m` instead of :math:`m`.

    Returns:
        :math:`m` or its natural logarithm.

    Used in: chapter 6, "The two bounds side by side".
    """
    gamma, eps = check_open_unit(gamma, "gamma"), check_open_unit(eps, "eps")
    c = check_positive(c, "c")
    eps_step = eps / math.sqrt(max(1.0, math.log(1 / gamma)))
    log_n = steps_needed(d, eps_step, eps, gamma, m_2, log=True)
    log_per_time = samples_needed_per_time(
        d, P, D, Theta, eps_step, eps, delta_train, m_2, log=True
    )
    return _out(math.log(c) + log_n + log_per_time, log)


def crossover_inverse_gamma(
    d, P, D, Theta, eps, eps_exponent=3, *, c_gppx=1.0, c_bmr=1.0, tol=1e-12
) -> float:
    r"""The :math:`1/\gamma` beyond which Theorem 1.2's count is below BMR's.

    Solves :math:`m_{GPPX}(\gamma) = m_{BMR}(\gamma)` in :math:`x = \log\frac1\gamma`. The gap
    :math:`\log m_{BMR} - \log m_{GPPX} = \Delta + 3x - 3\log x` (with :math:`\Delta` free of
    :math:`\gamma`) is smallest at :math:`x = 1` and increasing for :math:`x > 1`, so there is at
    most one crossover with :math:`x \ge 1`, found by bisection. Past it GPPX is smaller for
    every smaller :math:`\gamma`.

    Args:
        d, P, D, Theta, eps, eps_exponent: as in :func:`samples_needed_gppx`.
        c_gppx: constant of :func:`samples_needed_gppx`, ``> 0``.
        c_bmr: constant of :func:`samples_needed_bmr`, ``> 0``.
        tol: bisection tolerance on :math:`x`, ``> 0``.

    Returns:
        :math:`1/\gamma^*` (``>= e``); ``e`` when GPPX is already no larger at
        :math:`\gamma = 1/e`, in which case it is no larger for every :math:`\gamma`.

    Used in: chapter 6, "The two bounds side by side".
    """
    tol = check_positive(tol, "tol")

    def gap(x: float) -> float:
        gamma = math.exp(-x)
        return samples_needed_bmr(d, P, D, Theta, eps, gamma, c=c_bmr, log=True) - (
            samples_needed_gppx(d, P, D, Theta, eps, gamma, eps_exponent, c=c_gppx, log=True)
        )

    lo, hi = 1.0, 2.0
    if gap(lo) >= 0:
        return math.e
    # Bracket the root: the gap grows like 3x, so doubling ends quickly.
    while gap(hi) < 0:
        lo, hi = hi, 2 * hi
    # Bisect on x = log(1/gamma).
    while hi - lo > tol * max(1.0, lo):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if gap(mid) < 0 else (lo, mid)
    return math.exp(hi)


def steps_for_discretisation(d, eps, gamma, m_2=1.0, *, c=1.0, log=False) -> float:
    r"""Fewest DDPM steps that make Corollary B.6's discretisation term at most :math:`\varepsilon`.

    Corollary B.6 bounds the TV between :math:`q_\gamma` and the sampler's output by

    .. math::

        \delta + \varepsilon\sqrt{T + \log\tfrac1\gamma}
        + \sqrt{\tfrac dN}\,\big(T + \log\tfrac1\gamma\big) + (\sqrt d + m_2)\,e^{-T}.

    For the TV to be :math:`O(\varepsilon)`, the last two terms must each be at most
    :math:`\varepsilon`, whatever the quantile mass :math:`\delta` is:

    .. math::

        T = \max\Big(1,\ \log\frac{\sqrt d + m_2}{\varepsilon}\Big), \qquad
        N = c\,\frac{d\,\big(T + \log\tfrac1\gamma\big)^2}{\varepsilon^2}.

    So :math:`N \propto d\log^2(1/\gamma)/\varepsilon^2`: the :math:`1/\varepsilon^2` that
    Theorem C.3's :math:`N = \widetilde O(d\log^2\frac1\gamma)` leaves out. (The
    :math:`\max` with 1 is the standing assumption :math:`T \ge 1` of Lemmas B.4 and B.5.)

    Args:
        d: dimension, ``>= 1``.
        eps: TV accuracy :math:`\varepsilon`, in (0, 1).
        gamma: early-stopping time :math:`\gamma`, in (0, 1).
        m_2: root second moment of :math:`q_0`, ``> 0``.
        c: the unknown constant of Lemma B.4, ``> 0``.
        log: return :math:`\log N` instead of :math:`N`.

    Returns:
        :math:`N` (a float, not rounded) or its natural logarithm.

    Used in: chapter 6, "The statements" (the caution on Theorem C.2).
    """
    d, eps = check_at_least(d, "d", 1), check_open_unit(eps, "eps")
    gamma = check_open_unit(gamma, "gamma")
    m_2, c = check_positive(m_2, "m_2"), check_positive(c, "c")
    T = max(1.0, math.log((math.sqrt(d) + m_2) / eps))
    log_n = math.log(c) + math.log(d) + 2 * math.log(T + math.log(1 / gamma)) - 2 * math.log(eps)
    return _out(log_n, log)


def a2_approximation_level(
    d, eps, delta_train, gamma, sigma_t=1.0, m_2=1.0, *, n_steps=None, c=1.0, log=False
) -> float:
    r"""The approximation error that assumption A2 asks for: Theorems C.2 and C.3.

    At each time :math:`t_k` some network in the class must have

    .. math::

        \mathbb E_{q_{t_k}}\|\phi_{\theta^*} - s_{t_k}\|^2 \le
        \frac{\delta_{train}\,\varepsilon^3}{c\,N^2\,\sigma_{t_k}^2\,
        \log\frac{d + m_2 + 1/m_2}{\gamma}} ,

    Lemma C.1's :math:`\delta_{score}\delta_{train}\varepsilon^2/(C N^2\sigma^2)` with
    :math:`\delta_{score} = \varepsilon` (Theorem C.2; Theorem C.3 writes :math:`\log\frac d\gamma`
    for the logarithm). The level falls like :math:`1/N^2`, so it depends on the step count:
    by default :math:`N` is :func:`steps_for_discretisation`, the count Corollary B.6 forces,
    :math:`N \propto d\log^2(1/\gamma)/\varepsilon^2`, and the level is then
    :math:`\propto \varepsilon^7` up to logarithms. With the printed
    :math:`N = d\log^2(1/\gamma)` (pass it as ``n_steps``) it is :math:`\propto \varepsilon^3`.
    Constants and polylog factors are unknown; ``c`` stands for them.

    Args:
        d: dimension, ``>= 1``.
        eps: TV accuracy :math:`\varepsilon`, in (0, 1).
        delta_train: failure probability of training, in (0, 1).
        gamma: early-stopping time :math:`\gamma`, in (0, 1).
        sigma_t: noise level :math:`\sigma_{t_k}` of the time, ``> 0``.
        m_2: root second moment of :math:`q_0`, ``> 0``.
        n_steps: the step count :math:`N`, ``>= 1``; ``None`` means
            :func:`steps_for_discretisation` ``(d, eps, gamma, m_2)``.
        c: the unknown constant, ``> 0``.
        log: return the natural logarithm of the level.

    Returns:
        The squared-L2 level (a bound on a **squared** error) or its natural logarithm.

    Used in: chapter 6, "The statements" (the caution on Theorem C.2).
    """
    d, eps = check_at_least(d, "d", 1), check_open_unit(eps, "eps")
    delta_train = check_open_unit(delta_train, "delta_train")
    gamma = check_open_unit(gamma, "gamma")
    sigma_t, m_2 = check_positive(sigma_t, "sigma_t"), check_positive(m_2, "m_2")
    c = check_positive(c, "c")
    if n_steps is None:
        log_n = steps_for_discretisation(d, eps, gamma, m_2, log=True)
    else:
        log_n = math.log(check_at_least(n_steps, "n_steps", 1))
    log_level = (
        math.log(delta_train)
        + 3 * math.log(eps)
        - math.log(c)
        - 2 * log_n
        - 2 * math.log(sigma_t)
        - math.log(math.log((d + m_2 + 1 / m_2) / gamma))
    )
    return _out(log_level, log)
