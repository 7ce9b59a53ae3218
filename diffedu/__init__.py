"""diffedu: the package behind the executable book on training diffusion models.

A flat public namespace: chapters write ``diffedu.GaussianMixture``, ``diffedu.ddpm_sample``.
"""

from . import checks, plot
from .forward import add_noise, ou_alpha, ou_sigma
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
from .sample import ddpm_sample, em_sample, standard_normal
from .schedules import early_stopped_schedule, uniform_schedule
from .targets import GaussianMixture
from .utils import default_device, make_generator, run_time_note

# --- training (nets.py, train.py) ---
# isort: split
from .nets import EnsembleMLP, LearnedScore, TimeMLP
from .precondition import eps_to_score, preconditioning, score_to_eps
from .train import TrainResult, dsm_loss, train_score

# --- end training ---

# --- hardness (hardness.py) ---
# isort: split
from .erm import ERMResult, erm_select
from .hardness import Lemma41Pair, Lemma42Mixture

# --- end hardness ---

# --- quantile (quantile.py) ---
# isort: split
from .quantile import (
    Ball,
    Interval,
    interval_with_mass,
    perturb_score,
    quantile_score_error_1d_exact,
    quantile_score_error_ci,
    sampling_error_budget,
)

# --- end quantile ---

# --- bounds (bounds.py) ---
# isort: split
from .bounds import (
    a2_approximation_level,
    crossover_inverse_gamma,
    samples_needed_bmr,
    samples_needed_composed,
    samples_needed_gppx,
    samples_needed_per_time,
    steps_for_discretisation,
    steps_needed,
    w2_coupling_bound,
)

# --- end bounds ---

# --- learning the score in the quantile sense (centred.py, learnability.py) ---
# isort: split
from .centred import (
    centred_noise,
    conditional_noise_covariance,
    conditional_scale_bound,
    erm_failure_probability,
    erm_samples_needed,
)
from .learnability import (
    CellStatistics,
    cell_statistics,
    cells_with_mass,
    finite_class_erm,
    grid_class_erm,
    jackknife_rates,
    samples_needed,
)

# --- end learning ---

__version__ = "0.1.0"
