"""ZenML steps of the RGD pipelines, one module per step, named as the step: thin typed wrappers around
:mod:`rgd.workflow` and the MLflow layer. Step ids live in :mod:`steps.names` (importing it needs no ZenML);
each step module registers the RGD materializers with ZenML by importing :mod:`materializers`."""
