"""diffedu: the package behind the executable book on training diffusion models.

A flat public namespace: chapters write ``diffedu.GaussianMixture``, ``diffedu.ddpm_sample``.
Every public function and class of the modules below is re-exported here; ``checks`` (the
exercises' self-checks) and ``plot`` (the book's page helpers) are used as modules.
"""

from . import checks, plot
from .bounds import (
    a2_approximation_level,
    crossover_inverse_gamma,
    samples_needed_bmr,
    samples_needed_composed,
    samples_needed_gppx,
    samples_needed_per_time,
    sampling_error_budget,
    steps_for_discretisation,
    steps_needed,
    w2_coupling_bound,
)
from .centred import (
    centred_noise,
    conditional_noise_covariance,
    conditional_scale_bound,
    erm_failure_probability,
    erm_samples_needed,
)
from .erm import ERMResult, erm_select
from .forward import add_noise, ou_alpha, ou_sigma
from .hardness import Lemma41Pair, Lemma42Mixture
from .learnability import (
    CellStatistics,
    cell_statistics,
    cells_with_mass,
    finite_class_erm,
    grid_class_erm,
    jackknife_rates,
    samples_needed,
)
from .loss import dsm_loss
from .metrics import (
    l2_score_error,
    quantile_score_error,
    score_error_profile,
    tv_distance_1d,
    tv_distance_mixtures_1d,
    tv_noise_floor_1d,
    wasserstein2_1d,
    wasserstein2_2d,
)
from .nets import EnsembleMLP, LearnedScore, TimeMLP
from .plot import run_time_note
from .precondition import eps_to_score, preconditioning, preconditioning_at, score_to_eps
from .quantile import (
    Ball,
    Interval,
    interval_with_mass,
    perturb_score,
    quantile_score_error_1d_exact,
    quantile_score_error_ci,
)
from .sample import ddpm_sample, em_sample, standard_normal
from .schedules import check_schedule, early_stopped_schedule, uniform_schedule
from .targets import GaussianMixture
from .train import TrainResult, train_score
from .utils import default_device, draw_device, make_generator

__version__ = "0.1.0"
