"""Run directories, checkpoints, TensorBoard scalars, plots and policies from runs.

`load_policy(run_dir, member)` gives the callable policy of one archive member.
"""

from morl.io.policy import evaluate_policy, load_policy, restore_run

__all__ = ["evaluate_policy", "load_policy", "restore_run"]
