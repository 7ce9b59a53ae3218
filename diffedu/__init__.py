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
    tv_noise_floor_1d,
    wasserstein2_1d,
    wasserstein2_2d,
)
from .sample import ddpm_sample, standard_normal
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
    crossover_inverse_gamma,
    samples_needed_bmr,
    samples_needed_composed,
    samples_needed_gppx,
    samples_needed_per_time,
    steps_needed,
    w2_coupling_bound,
)

# --- end bounds ---

__version__ = "0.1.0"
