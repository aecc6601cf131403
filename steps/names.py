"""The step ids of the RGD pipelines, as the adapters read them: defined once in the library
(:mod:`rgd.config.step_names`), where the Kubernetes tools read them too without importing the adapters."""

from rgd.config.step_names import *  # noqa: F403
from rgd.config.step_names import __all__  # noqa: F401
