"""Environments simulated on the host (MuJoCo C, any MO-Gymnasium env) and driven from
inside compiled programs: `HostEnvironment` (the JAX contract) over an env pool.

`morl.envs.make("host:ID")` builds one for any MO-Gymnasium id; an id without a JAX port
gets one automatically.
"""

from morl.envs.host.env import HostEnvironment, HostParams, HostState, make_host, make_pool
from morl.envs.host.pool import EnvPool, GymnasiumPool

__all__ = ["EnvPool", "GymnasiumPool", "HostEnvironment", "HostParams", "HostState", "make_host", "make_pool"]
