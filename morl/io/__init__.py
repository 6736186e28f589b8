"""Persistence: run directories, checkpoints, results files, TensorBoard scalars, plots.

Nothing here imports the workflow (`morl.train_loop`, `morl.cli`, `morl.sweeps`) or the
algorithms; a run directory back as a trainer and policies is `morl.restore`.
"""
